import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';

// The million-record export, with the gateway as its own process, is in audit-export-million.e2e-spec.ts.
const ADMIN_A = 'ghk_test_auditq_a_admin_key_000000';
const ADMIN_B = 'ghk_test_auditq_b_admin_key_000000';
const MEMBER_A = 'ghk_test_auditq_a_member_key_00000';

interface AuditEvent {
  eventId: string;
  organizationId: string;
  seq: string | null;
  occurredAt: string;
  kind: string;
  actor: { type: string; id: string; name: string; user?: { email: string } | null };
  target: { connection?: string; tool?: string } | null;
  outcome: string | null;
  callId: string | null;
  data: { decision?: string };
}

interface Page {
  items: AuditEvent[];
  nextCursor: string | null;
}

// What the suite inserts: a few hundred records a minute apart, with every filtered field varied.
interface Seeded {
  eventId: string;
  occurredAt: string;
  kind: string;
  actor: { type: string; id: string; name: string; ip: string; userAgent: string; user: { id: string; email: string } };
  target: { type: string; connection: string; tool: string; downstreamTool: string } | null;
  outcome: string;
  traceId: string;
  data: Record<string, unknown>;
  callId: string | null;
}

const BASE = Date.UTC(2026, 2, 1);
const PEOPLE = [
  { id: 'user-alice', name: 'Alice', email: 'alice@acme.test' },
  { id: 'user-bob', name: 'Bob', email: 'bob@acme.test' },
  // A name that needs CSV quoting, and a user agent that a spreadsheet would run as a formula.
  { id: 'user-carol', name: 'Carol "CJ", Jr.\nthe third', email: 'carol@acme.test' },
];
const KINDS = ['tools.call.request', 'tools.call.outcome', 'tools.list', 'auth.sign_in'];
const CONNECTIONS = ['linear', 'github'];
const TOOLS = ['create_issue', 'search', 'list_repos'];
const OUTCOMES = ['success', 'denied', 'failure'];
const DECISIONS = ['allow', 'deny', 'require_approval'];

function seed(count: number): Seeded[] {
  const callIds = Array.from({ length: Math.ceil(count / 4) }, () => randomUUID());
  return Array.from({ length: count }, (_, i) => {
    const person = PEOPLE[i % 3]!;
    const kind = KINDS[i % 4]!;
    const toolCall = kind.startsWith('tools.call.');
    const tool = TOOLS[i % 5 % 3]!;
    return {
      eventId: randomUUID(),
      occurredAt: new Date(BASE + i * 60_000).toISOString(),
      kind,
      actor: {
        type: i % 2 ? 'api_key' : 'user',
        id: person.id,
        name: person.name,
        ip: `10.0.0.${i % 250}`,
        userAgent: i % 7 === 0 ? '=HYPERLINK("http://evil.test")' : 'agent/1.0',
        user: { id: person.id, email: person.email },
      },
      target: kind === 'auth.sign_in' ? null : { type: 'tool', connection: CONNECTIONS[i % 2]!, tool, downstreamTool: tool },
      outcome: kind === 'tools.call.request' ? 'pending' : OUTCOMES[i % 3]!,
      traceId: `trace-${i}`,
      data: kind === 'tools.call.outcome' ? { decision: DECISIONS[i % 3], rule: `rule-${i % 3}`, latencyMs: i } : { n: i },
      callId: toolCall ? callIds[Math.floor(i / 4)]! : null,
    };
  });
}

// One statement, in array order, so ids ascend with the array index.
async function insert(databaseUrl: string, organizationId: string, records: Seeded[]): Promise<void> {
  await query(
    databaseUrl,
    `INSERT INTO audit_records (organization_id, event_id, occurred_at, kind, actor, target, outcome, trace_id, data, call_id)
     SELECT $2::uuid, (r->>'eventId')::uuid, (r->>'occurredAt')::timestamp(3), r->>'kind', r->'actor', NULLIF(r->'target', 'null'::jsonb),
       r->>'outcome', r->>'traceId', r->'data', (r->>'callId')::uuid
     FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(r, n) ORDER BY n`,
    [JSON.stringify(records), organizationId],
  );
}

// An RFC 4180 reader (csv-parse), as a spreadsheet or SIEM would read the file.
const parseCsv = (text: string): string[][] => parse(text, { relaxColumnCount: false }) as string[][];

describe('audit query and export', () => {
  let gateway: TestGateway;
  let orgA: string;
  let orgB: string;
  const seededA = seed(300);
  const seededB = seed(40);

  const get = <T>(path: string, key = ADMIN_A) => apiRequest<T>(gateway.baseUrl, key, 'GET', path);

  /** Follows nextCursor to the end; returns every item in order and the number of pages. */
  async function walk(params: Record<string, string>, key = ADMIN_A): Promise<{ items: AuditEvent[]; pages: number }> {
    const items: AuditEvent[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const search: URLSearchParams = new URLSearchParams({ ...params, ...(cursor ? { cursor } : {}) });
      const reply: { status: number; body: Page } = await get<Page>(`/api/v1/audit/records?${search}`, key);
      expect(reply.status).toBe(200);
      items.push(...reply.body.items);
      cursor = reply.body.nextCursor;
      pages++;
    } while (cursor);
    return { items, pages };
  }

  // The seeded records a filter should select, newest first (ids ascend with the seed index).
  const expected = (keep: (record: Seeded, index: number) => boolean) =>
    seededA.filter(keep).map((record) => record.eventId).reverse();

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `organizations:
  - slug: audit-a
    name: Audit A
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_A }
      - { name: member, role: member, secretEnv: MEMBER_A }
  - slug: audit-b
    name: Audit B
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_B }
`,
      vars: { ADMIN_A, ADMIN_B, MEMBER_A },
    });
    const orgs = await query<{ id: string; slug: string }>(gateway.databaseUrl, `SELECT id::text, slug FROM organizations WHERE slug LIKE 'audit-%'`);
    orgA = orgs.find((org) => org.slug === 'audit-a')!.id;
    orgB = orgs.find((org) => org.slug === 'audit-b')!.id;
    // Records made the real way too: key creations in both organizations, by keys both named "admin".
    for (const [key, name] of [[ADMIN_A, 'a-one'], [ADMIN_A, 'a-two'], [ADMIN_B, 'b-one']] as const) {
      expect((await apiRequest(gateway.baseUrl, key, 'POST', '/api/v1/api-keys', { name, role: 'member' })).status).toBe(201);
    }
    await insert(gateway.databaseUrl, orgA, seededA);
    await insert(gateway.databaseUrl, orgB, seededB);
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
  });

  it('walks every record of the organization exactly once, newest first, and none of another', async () => {
    const { items, pages } = await walk({ limit: '37' });
    const stored = await query<{ event_id: string }>(
      gateway.databaseUrl,
      'SELECT event_id::text FROM audit_records WHERE organization_id = $1 ORDER BY id DESC',
      [orgA],
    );
    expect(items.map((item) => item.eventId)).toEqual(stored.map((row) => row.event_id));
    expect(new Set(items.map((item) => item.eventId)).size).toBe(items.length);
    expect(pages).toBe(Math.ceil(stored.length / 37));
    expect(items.every((item) => item.organizationId === orgA)).toBe(true);
    const other = new Set(seededB.map((record) => record.eventId));
    expect(items.some((item) => other.has(item.eventId))).toBe(false);
  });

  it('returns records in the native form, as stored', async () => {
    const { items } = await walk({ callId: seededA[1]!.callId! });
    const [outcome, request] = items;
    expect(items).toHaveLength(2);
    expect(request).toMatchObject({ eventId: seededA[0]!.eventId, kind: 'tools.call.request', occurredAt: seededA[0]!.occurredAt });
    expect(outcome).toMatchObject({
      eventId: seededA[1]!.eventId,
      kind: 'tools.call.outcome',
      actor: seededA[1]!.actor,
      target: seededA[1]!.target,
      outcome: seededA[1]!.outcome,
      data: seededA[1]!.data,
      callId: seededA[1]!.callId,
    });
  });

  const at = (minute: number) => new Date(BASE + minute * 60_000).toISOString();
  it.each<[string, Record<string, string>, (record: Seeded, index: number) => boolean]>([
    ['time range (from inclusive, to exclusive)', { from: at(50), to: at(120) }, (_r, i) => i >= 50 && i < 120],
    ['actor id', { actor: 'user-bob' }, (r) => r.actor.id === 'user-bob'],
    ['actor name', { actor: 'Alice' }, (r) => r.actor.name === 'Alice'],
    ['actor email (any case)', { actor: 'CAROL@acme.test' }, (r) => r.actor.user.email === 'carol@acme.test'],
    ['connection', { connection: 'github' }, (r) => r.target?.connection === 'github'],
    ['tool', { tool: 'search' }, (r) => r.target?.tool === 'search'],
    ['decision', { decision: 'deny' }, (r) => r.data.decision === 'deny'],
    ['outcome', { outcome: 'denied' }, (r) => r.outcome === 'denied'],
    ['exact kind', { kind: 'tools.call.outcome' }, (r) => r.kind === 'tools.call.outcome'],
    ['kind prefix', { kind: 'tools.call.*' }, (r) => r.kind.startsWith('tools.call.')],
    ['filters combined', { connection: 'linear', kind: 'tools.call.*', from: at(100) }, (r, i) => r.target?.connection === 'linear' && r.kind.startsWith('tools.call.') && i >= 100],
  ])('filters by %s', async (_name, params, keep) => {
    const want = expected(keep);
    expect(want.length).toBeGreaterThan(0);
    const { items } = await walk({ ...params, limit: '25' });
    expect(items.map((item) => item.eventId)).toEqual(want);
  });

  it('filters the records the API itself wrote, within the organization', async () => {
    const { items } = await walk({ kind: 'admin.api_key.*', actor: 'admin' });
    expect(items.map((item) => (item as unknown as { target: { name: string } }).target.name).sort()).toEqual(['a-one', 'a-two']);
    const inB = await walk({ kind: 'admin.api_key.*', actor: 'admin' }, ADMIN_B);
    expect(inB.items.map((item) => (item as unknown as { target: { name: string } }).target.name)).toEqual(['b-one']);
  });

  it.each([
    ['a kind pattern with * inside', 'kind=tools.*.request'],
    ['an inverted time range', `from=${at(10)}&to=${at(5)}`],
    ['a forged cursor', 'cursor=bm90LWEtY3Vyc29y'],
    ['a limit over 1000', 'limit=1001'],
    ['an unknown filter', 'color=red'],
    ['a call id that is not a UUID', 'callId=42'],
  ])('refuses %s with a problem', async (_name, search) => {
    const reply = await get<{ status: number; detail: string }>(`/api/v1/audit/records?${search}`);
    expect(reply.status).toBe(400);
    expect(reply.contentType).toMatch(/application\/problem\+json/);
  });

  it('is for admins only', async () => {
    expect((await get('/api/v1/audit/records', MEMBER_A)).status).toBe(403);
    expect((await get('/api/v1/audit/export', MEMBER_A)).status).toBe(403);
    expect((await apiRequest(gateway.baseUrl, null, 'GET', '/api/v1/audit/records')).status).toBe(401);
  });

  describe('export', () => {
    const download = async (search: string) => {
      const response = await fetch(`${gateway.baseUrl}/api/v1/audit/export?${search}`, { headers: { Authorization: `Bearer ${ADMIN_A}` } });
      return { response, text: await response.text() };
    };
    let storedIds: string[];
    beforeAll(async () => {
      const rows = await query<{ event_id: string }>(
        gateway.databaseUrl,
        "SELECT event_id::text FROM audit_records WHERE organization_id = $1 AND kind <> 'audit.exported' ORDER BY id",
        [orgA],
      );
      storedIds = rows.map((row) => row.event_id);
    });

    it('streams NDJSON: one native event per line, oldest first, this organization only', async () => {
      const { response, text } = await download('format=ndjson');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="gatehouse-audit-[0-9TZ-]+\.ndjson"$/);
      expect(text.endsWith('\n')).toBe(true);
      // Each export is itself recorded (audit.exported), after it: those of earlier tests are left out here.
      const events = text.trimEnd().split('\n').map((line) => JSON.parse(line) as AuditEvent).filter((event) => event.kind !== 'audit.exported');
      expect(events.map((event) => event.eventId)).toEqual(storedIds);
      expect(events.find((event) => event.eventId === seededA[1]!.eventId)).toMatchObject({ actor: seededA[1]!.actor, data: seededA[1]!.data });
    });

    it('streams CSV that a RFC 4180 reader parses, with formulas neutralised', async () => {
      const { response, text } = await download('format=csv');
      expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(response.headers.get('content-disposition')).toMatch(/\.csv"$/);
      const [header, ...all] = parseCsv(text);
      const rows = all.filter((row) => row[3] !== 'audit.exported');
      expect(header).toEqual(['seq', 'eventId', 'occurredAt', 'kind', 'actorType', 'actorId', 'actorName', 'actorEmail', 'ip', 'userAgent',
        'connection', 'tool', 'outcome', 'decision', 'callId', 'traceId', 'hash', 'data']);
      expect(rows.every((row) => row.length === header!.length)).toBe(true);
      expect(rows.map((row) => row[1])).toEqual(storedIds);
      const cell = (eventId: string, column: string) => rows.find((row) => row[1] === eventId)![header!.indexOf(column)];
      const carol = seededA[2]!;
      expect(cell(carol.eventId, 'actorName')).toBe('Carol "CJ", Jr.\nthe third');
      expect(cell(seededA[0]!.eventId, 'userAgent')).toBe(`'=HYPERLINK("http://evil.test")`);
      expect(cell(seededA[1]!.eventId, 'decision')).toBe(seededA[1]!.data.decision);
      expect(JSON.parse(cell(seededA[1]!.eventId, 'data')!)).toEqual(seededA[1]!.data);
    });

    it('streams OCSF API Activity events, one per line', async () => {
      const { response, text } = await download('format=ocsf');
      expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const events = text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { class_uid: number; metadata: { uid: string; tenant_uid: string; event_code: string } });
      expect(events.every((event) => event.class_uid === 6003 && event.metadata.tenant_uid === orgA)).toBe(true);
      expect(events.filter((event) => event.metadata.event_code !== 'audit.exported').map((event) => event.metadata.uid)).toEqual(storedIds);
    });

    it('applies the same filters', async () => {
      const { text } = await download('format=csv&connection=linear&decision=allow');
      const [, ...rows] = parseCsv(text);
      expect(rows.map((row) => row[1])).toEqual(expected((r) => r.target?.connection === 'linear' && r.data.decision === 'allow').reverse());
      const empty = await download('format=csv&actor=nobody');
      expect(parseCsv(empty.text)).toHaveLength(1);
    });

    it('records who exported the log', async () => {
      const exports = await query<{ actor: { name: string }; outcome: string }>(
        gateway.databaseUrl,
        "SELECT actor, outcome FROM audit_records WHERE organization_id = $1 AND kind = 'audit.exported' ORDER BY id",
        [orgA],
      );
      // The member's refused attempt first, then the admin's downloads.
      expect(exports[0]).toMatchObject({ actor: { name: 'member' }, outcome: 'denied' });
      const downloads = exports.slice(1);
      expect(downloads.length).toBeGreaterThanOrEqual(3);
      expect(downloads.every((record) => record.actor.name === 'admin' && record.outcome === 'success')).toBe(true);
    });

    it('refuses a bad format or filter before streaming', async () => {
      for (const search of ['format=xml', 'kind=a*b']) {
        const { response } = await download(search);
        expect(response.status).toBe(400);
        expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect(response.headers.get('content-disposition')).toBeNull();
      }
    });
  });
});
