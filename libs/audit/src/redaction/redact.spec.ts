import { createHash } from 'node:crypto';
import { AppConfig, canonicalJson, platformSchema, PlatformSettings } from '@gatehouse/config';
import type { AuditSettings } from '@gatehouse/db';
import { AuditRedactor, TruncatedArguments } from './audit-redactor';
import { compileRedactPath, isSecretKey, redact } from './redact';

const mask = (value: unknown) => `masked(${JSON.stringify(value)})`;
const settings = (overrides: Partial<AuditSettings> = {}): AuditSettings => ({
  level: 'arguments',
  failMode: 'closed',
  retentionDays: null,
  redactPaths: [],
  resultMaxBytes: 256,
  configManaged: false,
  ...overrides,
});

describe('isSecretKey', () => {
  it.each([
    'password', 'Password', 'PASSWD', 'new_password', 'secret', 'clientSecret', 'client_secret', 'token', 'accessToken',
    'refresh-token', 'tokens', 'Authorization', 'api_key', 'apikey', 'apiKey', 'x-api-key', 'API-KEY', 'access_key',
    'awsAccessKey', 'private_key', 'privateKey', 'cookie', 'Set-Cookie', 'session', 'sessionId',
  ])('redacts %s', (key) => expect(isSecretKey(key)).toBe(true));

  it.each(['text', 'name', 'tokenizer', 'author', 'key', 'access', 'api', 'private', 'secretary', 'description', 'keyboard'])(
    'keeps %s',
    (key) => expect(isSecretKey(key)).toBe(false),
  );
});

describe('redact', () => {
  const paths = (...list: string[]) => list.map(compileRedactPath);

  it('masks values under secret keys at any depth, whatever their type', () => {
    const args = { text: 'hi', password: 'p', nested: { credentials: { token: { a: 1 } }, list: [{ apiKey: 7 }, 'plain'] } };
    expect(redact(args, [], mask)).toEqual({
      text: 'hi',
      password: 'masked("p")',
      nested: { credentials: { token: 'masked({"a":1})' }, list: [{ apiKey: 'masked(7)' }, 'plain'] },
    });
  });

  it('masks the values at configured JSON paths', () => {
    const args = {
      customer: { ssn: '123', name: 'Ann', inner: { ssn: 'kept' } },
      items: [{ card: '4111', sku: 'a' }, { card: '5500', sku: 'b' }],
      deep: { x: [{ pin: 1 }, { y: { pin: 2 } }] },
      pin: 3,
    };
    expect(redact(args, paths('$.customer.ssn', '$.items[*].card', '$..pin'), mask)).toEqual({
      customer: { ssn: 'masked("123")', name: 'Ann', inner: { ssn: 'kept' } },
      items: [{ card: 'masked("4111")', sku: 'a' }, { card: 'masked("5500")', sku: 'b' }],
      deep: { x: [{ pin: 'masked(1)' }, { y: { pin: 'masked(2)' } }] },
      pin: 'masked(3)',
    });
  });

  it('supports wildcards and whole subtrees', () => {
    expect(redact({ env: { A: '1', B: '2' }, other: 1 }, paths('$.env.*'), mask)).toEqual({ env: { A: 'masked("1")', B: 'masked("2")' }, other: 1 });
    expect(redact({ customer: { a: 1 } }, paths('$.customer'), mask)).toEqual({ customer: 'masked({"a":1})' });
    expect(redact({ a: 1, b: [2] }, paths('$.*'), mask)).toEqual({ a: 'masked(1)', b: 'masked([2])' });
  });

  it('does not change its input', () => {
    const args = { password: 'p', list: [{ token: 't' }] };
    redact(args, [], mask);
    expect(args).toEqual({ password: 'p', list: [{ token: 't' }] });
  });

  it('refuses paths outside the grammar', () => {
    expect(() => compileRedactPath('customer.ssn')).toThrow();
    expect(() => compileRedactPath('$.a[0]')).toThrow();
  });
});

describe('AuditRedactor', () => {
  const config = (secret: string) => AppConfig.from({ DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_SECRET_KEY: secret });
  const platform = PlatformSettings.from(undefined);
  const redactor = new AuditRedactor(config('k'.repeat(40)), platform);

  it('masks with a keyed HMAC: equal values correlate, other keys give other values', () => {
    const out = redactor.arguments({ password: 'canary-1', api_key: 'canary-1', token: 'canary-2' }, settings()) as Record<string, string>;
    expect(out['password']).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(out['api_key']).toBe(out['password']);
    expect(out['token']).not.toBe(out['password']);
    const other = new AuditRedactor(config('z'.repeat(40)), platform).arguments({ password: 'canary-1' }, settings()) as Record<string, string>;
    expect(other['password']).not.toBe(out['password']);
  });

  it('keeps no arguments at level metadata, and applies the organization and caller paths', () => {
    expect(redactor.arguments({ a: 1 }, settings({ level: 'metadata' }))).toBeUndefined();
    const out = redactor.arguments({ customer: { ssn: 's' }, env: { X: 'x' } }, settings({ redactPaths: ['$.customer.ssn'] }), ['$.env.*']);
    expect(JSON.stringify(out)).not.toMatch(/"s"|"x"/);
  });

  it('keeps arguments past auditArgumentsMaxBytes as their start and the hash of them whole, within that size', () => {
    const limited = new AuditRedactor(config('k'.repeat(40)), PlatformSettings.from(platformSchema.parse({ limits: { auditArgumentsMaxBytes: 1024 } })));
    const small = { text: 'x'.repeat(500) };
    expect(limited.arguments(small, settings())).toEqual(small);

    // Quotes and control characters take more room escaped than as text; keys arrive unsorted.
    const large = { z: '"\u0001é'.repeat(2_000), password: 'hunter2', a: [1, 2] };
    const kept = limited.arguments(large, settings()) as TruncatedArguments;
    const redacted = { ...large, password: (limited.arguments({ password: 'hunter2' }, settings()) as Record<string, string>)['password'] };
    expect(kept).toEqual({
      truncated: true,
      originalBytes: Buffer.byteLength(JSON.stringify(redacted)),
      sha256: createHash('sha256').update(canonicalJson(redacted)).digest('hex'),
      prefix: expect.any(String),
    });
    expect(JSON.stringify(redacted).startsWith(kept.prefix)).toBe(true);
    expect(kept.prefix.length).toBeGreaterThan(100);
    expect(Buffer.byteLength(JSON.stringify(kept))).toBeLessThanOrEqual(1024);
    expect(JSON.stringify(kept)).not.toContain('hunter2');
  });

  it('shows arguments to approvers redacted as the request record keeps them, whatever the detail level', () => {
    const args = { password: 'hunter2', customer: { ssn: '123', name: 'Ann' } };
    const kept = settings({ redactPaths: ['$.customer.ssn'] });
    const shown = redactor.shownArguments(args, { ...kept, level: 'metadata' });
    expect(shown).toEqual(redactor.arguments(args, kept));
    expect(shown).toMatchObject({ password: expect.stringMatching(/^hmac-sha256:/), customer: { ssn: expect.stringMatching(/^hmac-sha256:/), name: 'Ann' } });
  });

  it('keeps results only at level results, masked and truncated to resultMaxBytes', () => {
    const small = { content: [{ type: 'text', text: 'ok' }], structuredContent: { token: 'secret-value', n: 1 } };
    expect(redactor.result(small, settings())).toBeUndefined();
    const kept = redactor.result(small, settings({ level: 'results' }))!;
    expect(kept.truncated).toBeUndefined();
    expect(JSON.stringify(kept.result)).not.toContain('secret-value');
    const mirrored = { content: [{ type: 'text', text: JSON.stringify({ approvals: [{ arguments: { password: 'hunter2' } }] }) }] };
    const parsed = redactor.result(mirrored, settings({ level: 'results', resultMaxBytes: 4096 }))!;
    expect(JSON.stringify(parsed.result)).not.toContain('hunter2');
    expect(parsed.result).toEqual({ content: [{ type: 'text', json: { approvals: [{ arguments: { password: expect.stringMatching(/^hmac-sha256:/) } }] } }] });
    const large = { content: [{ type: 'text', text: 'é'.repeat(1000) }] };
    const cut = redactor.result(large, settings({ level: 'results', resultMaxBytes: 256 }))!;
    expect(cut.truncated).toBe(true);
    expect(cut.resultBytes).toBe(Buffer.byteLength(JSON.stringify({ content: large.content })));
    expect(Buffer.byteLength(cut.result as string)).toBeLessThanOrEqual(256);
    expect(cut.result as string).not.toContain('\uFFFD');
  });
});
