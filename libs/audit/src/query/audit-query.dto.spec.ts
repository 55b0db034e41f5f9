import { GatehouseError } from '@gatehouse/config';
import { auditExportQuerySchema, auditListQuerySchema, auditRecordFilter, decodeCursor, encodeCursor } from './audit-query.dto';

const invalid = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return (error as GatehouseError).message;
  }
  throw new Error('expected a GatehouseError');
};

describe('audit query parsing', () => {
  it('parses query strings into typed filters', () => {
    const query = auditListQuerySchema.parse({
      from: '2026-01-01',
      to: '2026-01-02T12:00:00+02:00',
      actor: 'alice@acme.test',
      connection: 'linear',
      tool: 'create_issue',
      decision: 'deny',
      outcome: 'denied',
      kind: 'tools.call.*',
      callId: '6f1f6f1e-5b1a-4c8e-9f00-0123456789ab',
      limit: '50',
    });
    expect(query.limit).toBe(50);
    expect(auditRecordFilter(query)).toEqual({
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-01-02T10:00:00Z'),
      actor: 'alice@acme.test',
      connection: 'linear',
      tool: 'create_issue',
      decision: 'deny',
      outcome: 'denied',
      kind: { value: 'tools.call.', prefix: true },
      callId: '6f1f6f1e-5b1a-4c8e-9f00-0123456789ab',
    });
  });

  it('defaults: no filter, 100 per page, NDJSON export', () => {
    const query = auditListQuerySchema.parse({});
    expect(query.limit).toBe(100);
    expect(auditRecordFilter(query)).toEqual({});
    expect(auditExportQuerySchema.parse({}).format).toBe('ndjson');
  });

  it('takes an exact kind, and * alone as every kind', () => {
    expect(auditRecordFilter({ kind: 'admin.api_key.created' }).kind).toEqual({ value: 'admin.api_key.created', prefix: false });
    expect(auditRecordFilter({ kind: '*' }).kind).toEqual({ value: '', prefix: true });
  });

  it.each(['tools.*.call', 'tools call', 'tools.call.**', "x' OR 1=1"])('refuses the kind pattern %j', (kind) => {
    expect(invalid(() => auditRecordFilter({ kind }))).toMatch(/kind/);
  });

  it('refuses an empty or inverted time range', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(invalid(() => auditRecordFilter({ from: at, to: at }))).toMatch(/from must be before to/);
  });

  it.each([
    { limit: '0' },
    { limit: '1001' },
    { limit: '1.5' },
    { from: 'yesterday' },
    { to: '2026-01-01T00:00:00' },
    { callId: 'not-a-uuid' },
    { format: 'xml' },
    { unknown: 'x' },
  ])('refuses %j at the schema', (input) => {
    const schema = 'format' in input ? auditExportQuerySchema : auditListQuerySchema;
    expect(schema.safeParse(input).success).toBe(false);
  });

  it('round-trips cursors and refuses forged ones', () => {
    expect(decodeCursor(encodeCursor(123456789012345n))).toEqual({ id: 123456789012345n, newer: false });
    expect(decodeCursor(encodeCursor(42n, true))).toEqual({ id: 42n, newer: true });
    const forged = ['', 'abc', '-1', '12x', '0', '+0', '++1', '9223372036854775808', '9999999999999999999'];
    for (const cursor of forged.map((text) => (text === '' || text === 'abc' ? text : Buffer.from(text).toString('base64url')))) {
      expect(invalid(() => decodeCursor(cursor))).toMatch(/cursor/);
    }
  });
});
