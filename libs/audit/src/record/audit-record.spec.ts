import { createHash } from 'node:crypto';
import { AppConfig, canonicalJson } from '@gatehouse/config';
import { AuditSigner } from '../chain/audit-signer';
import { auditRecordHash, genesisHash, HashedAuditFields } from './audit-record';

const ORG = '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5';
const record = (overrides: Partial<HashedAuditFields> = {}): HashedAuditFields => ({
  organizationId: ORG,
  seq: 1n,
  eventId: '0b7e8f2a-1c3d-4e5f-a6b7-c8d9e0f1a2b3',
  occurredAt: new Date('2026-11-30T03:00:00.123Z'),
  kind: 'admin.api_key.created',
  actor: { type: 'api_key', id: 'k1', name: 'admin', ip: '127.0.0.1', userAgent: null },
  target: { type: 'api_key', id: 'k2' },
  outcome: 'success',
  traceId: null,
  data: { role: 'member', nested: { b: 2, a: [1, { d: 4, c: 3 }] } },
  callId: null,
  ...overrides,
});

describe('auditRecordHash', () => {
  it('is SHA-256 of the previous hash, a newline and the sorted-key, whitespace-free JSON', () => {
    const expected =
      '{"actor":{"id":"k1","ip":"127.0.0.1","name":"admin","type":"api_key","userAgent":null},' +
      '"data":{"nested":{"a":[1,{"c":3,"d":4}],"b":2},"role":"member"},' +
      `"eventId":"0b7e8f2a-1c3d-4e5f-a6b7-c8d9e0f1a2b3","kind":"admin.api_key.created","occurredAt":"2026-11-30T03:00:00.123Z",` +
      `"organizationId":"${ORG}","outcome":"success","seq":"1","target":{"id":"k2","type":"api_key"},"traceId":null}`;
    const digest = createHash('sha256').update(`genesis:${ORG}\n${expected}`).digest('hex');
    expect(auditRecordHash(genesisHash(ORG), record())).toBe(digest);
  });

  it('is the canonical JSON of all the hashed fields, whatever their values (chains written before still verify)', () => {
    const canonical = (r: HashedAuditFields) =>
      canonicalJson({
        organizationId: r.organizationId,
        seq: r.seq.toString(),
        eventId: r.eventId,
        occurredAt: r.occurredAt.toISOString(),
        kind: r.kind,
        actor: r.actor,
        target: r.target ?? null,
        outcome: r.outcome ?? null,
        traceId: r.traceId ?? null,
        data: r.data,
        callId: r.callId ?? undefined,
      });
    const hostile = record({
      seq: 9_007_199_254_740_993n,
      callId: '9c3e5a1b-2d4f-4a6b-8c0d-1e2f3a4b5c6d',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      outcome: null,
      target: null,
      actor: { type: 'user', id: null, name: '"seq":"1","target":null}\n', ip: null, userAgent: '\u2028 😀' },
      data: { seq: '2', target: { z: 1, a: [null, true, 1.5e-7] }, '': '', 'ü': 'é' },
    });
    for (const r of [record(), hostile]) {
      expect(auditRecordHash('p', r)).toBe(createHash('sha256').update(`p\n${canonical(r)}`).digest('hex'));
    }
  });

  it('does not depend on key order (jsonb returns keys in its own order)', () => {
    const reordered = record({
      actor: { userAgent: null, ip: '127.0.0.1', name: 'admin', id: 'k1', type: 'api_key' },
      data: { nested: { a: [1, { c: 3, d: 4 }], b: 2 }, role: 'member' },
    });
    expect(auditRecordHash('p', reordered)).toBe(auditRecordHash('p', record()));
  });

  it('changes with any covered field and with the previous hash', () => {
    const base = auditRecordHash('p', record());
    expect(auditRecordHash('q', record())).not.toBe(base);
    expect(auditRecordHash('p', record({ seq: 2n }))).not.toBe(base);
    expect(auditRecordHash('p', record({ data: { role: 'admin', nested: { b: 2, a: [1, { d: 4, c: 3 }] } } }))).not.toBe(base);
    expect(auditRecordHash('p', record({ occurredAt: new Date('2026-11-30T03:00:00.124Z') }))).not.toBe(base);
    expect(auditRecordHash('p', record({ outcome: null }))).not.toBe(base);
  });

  it('covers the call id of a tools/call record, and leaves it out of other records', () => {
    const base = auditRecordHash('p', record());
    const call = auditRecordHash('p', record({ callId: '9c3e5a1b-2d4f-4a6b-8c0d-1e2f3a4b5c6d' }));
    expect(call).not.toBe(base);
    expect(auditRecordHash('p', record({ callId: '9c3e5a1b-2d4f-4a6b-8c0d-1e2f3a4b5c6e' }))).not.toBe(call);
  });

  it('treats an absent target like null', () => {
    expect(auditRecordHash('p', record({ target: null }))).toBe(
      auditRecordHash('p', { ...record(), target: undefined as unknown as null }),
    );
  });
});

describe('AuditSigner', () => {
  const config = AppConfig.from({ DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_SECRET_KEY: 'k'.repeat(40) });

  it('signs checkpoints that verify, and refuses tampered ones', () => {
    const signer = new AuditSigner(config);
    const hash = 'a'.repeat(64);
    const checkpoint = { organizationId: ORG, seq: 7n, hash, ...signer.sign(ORG, 7n, hash) };
    expect(signer.verify(checkpoint)).toBe(true);
    expect(signer.verify({ ...checkpoint, seq: 8n })).toBe(false);
    expect(signer.verify({ ...checkpoint, hash: 'b'.repeat(64) })).toBe(false);
    expect(signer.verify({ ...checkpoint, signature: checkpoint.signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) })).toBe(false);
  });

  it('signs a retention cut so that it cannot pass for an ordinary checkpoint, nor the other way round', () => {
    const signer = new AuditSigner(config);
    const hash = 'c'.repeat(64);
    const cut = { organizationId: ORG, seq: 9n, hash, cut: true, ...signer.sign(ORG, 9n, hash, true) };
    const plain = { organizationId: ORG, seq: 9n, hash, ...signer.sign(ORG, 9n, hash) };
    expect(signer.verify(cut)).toBe(true);
    expect(signer.verify({ ...cut, cut: false })).toBe(false);
    expect(signer.verify({ ...plain, cut: true })).toBe(false);
  });

    it('derives the same development key from the same secret, and a different one from another', () => {
    expect(new AuditSigner(config).keyId).toBe(new AuditSigner(config).keyId);
    const other = AppConfig.from({ DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_SECRET_KEY: 'z'.repeat(40) });
    expect(new AuditSigner(other).keyId).not.toBe(new AuditSigner(config).keyId);
  });

  it('uses a configured PKCS#8 key, and production refuses to start without one', () => {
    const { generateKeyPairSync } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const base = { DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_SECRET_KEY: 'k'.repeat(40) };
    const fromPem = new AuditSigner(AppConfig.from({ ...base, GATEHOUSE_AUDIT_SIGNING_KEY: pem }));
    const fromDer = new AuditSigner(AppConfig.from({ ...base, GATEHOUSE_AUDIT_SIGNING_KEY: der }));
    expect(fromPem.keyId).toBe(fromDer.keyId);
    expect(fromPem.keyId).not.toBe(new AuditSigner(config).keyId);
    expect(() => AppConfig.from({ ...base, GATEHOUSE_AUDIT_SIGNING_KEY: 'not a key' })).toThrow(/GATEHOUSE_AUDIT_SIGNING_KEY/);
    expect(() => AppConfig.from({ ...base, NODE_ENV: 'production' })).toThrow(/GATEHOUSE_AUDIT_SIGNING_KEY is required/);
  });
});
