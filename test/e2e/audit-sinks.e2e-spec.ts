import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditEvent, AuditSinkDeliverer, AuditSinkInfo, toOcsf } from '@gatehouse/audit';
import { GATEHOUSE_VERSION } from '@gatehouse/config';
import { AuditRepository, StoredAuditRecord } from '@gatehouse/db';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { freePort } from '../support/servers';
import { eventIdOf, HecReceiver, startHecReceiver, startWebhookReceiver, WebhookReceiver } from '../support/siem-receivers';
import { makeTlsFiles, startSyslogServer, SyslogServer, SyslogTls } from '../support/syslog-server';
import { waitFor } from '../support/wait';

// SIEM sinks against real receivers: rsyslog (TCP and TLS), a Standard Webhooks receiver and a Splunk HEC
// stand-in. Each scenario has its own organization; records are a few from real admin activity plus bulk
// inserts the chainer chains, as a busy gateway's would be.
const ORGS = ['syslog', 'tls', 'hooks', 'hec', 'bench'] as const;
type Org = (typeof ORGS)[number];
const adminKey = (org: Org) => `ghk_test_sinks_${org}_admin_key_0000000`;
const MEMBER_KEY = 'ghk_test_sinks_hec_member_key_00000000';
const CANARY_WEBHOOK_SECRET = `canary-webhook-secret-${randomBytes(8).toString('hex')}`;
const CANARY_HEC_TOKEN = `canary-hec-token-${randomBytes(8).toString('hex')}`;

const SYSLOG_LINE = /^<(\d+)>1 (\S+) (\S+) gatehouse (\d+) (\S+) - (.*)$/;

describe('SIEM sinks', () => {
  let gateway: TestGateway;
  let dir: string;
  let tls: SyslogTls;
  let syslog: SyslogServer;
  let syslogTls: SyslogServer;
  let hooks: WebhookReceiver;
  let hec: HecReceiver;
  const orgIds = new Map<Org, string>();
  const throughput: Record<string, number> = {};

  const api = <T>(org: Org, method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, adminKey(org), method, path, body);
  const sinks = async (org: Org) => {
    const reply = await api<AuditSinkInfo[]>(org, 'GET', '/api/v1/audit/sinks');
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const sink = async (org: Org, name: string) => (await sinks(org)).find((s) => s.name === name)!;
  const createSink = async (org: Org, body: Record<string, unknown>) => {
    const reply = await api<AuditSinkInfo>(org, 'POST', '/api/v1/audit/sinks', body);
    expect(reply.status).toBe(201);
    return reply.body;
  };

  // Chained records of an organization, as the sinks must have sent them.
  const chained = (org: Org): Promise<StoredAuditRecord[]> => gateway.app.get(AuditRepository).chainedAfter(orgIds.get(org)!, 0n, 1_000_000);
  const expectedBody = (record: StoredAuditRecord, format: string) =>
    JSON.parse(JSON.stringify(format === 'ocsf' ? toOcsf(auditEvent(record), GATEHOUSE_VERSION) : auditEvent(record)));

  // Tool-call records as a busy gateway writes them, unchained: the chainer picks them up like any other.
  const insertRecords = async (org: Org, count: number) => {
    await query(
      gateway.databaseUrl,
      `INSERT INTO audit_records (organization_id, event_id, occurred_at, kind, actor, target, outcome, trace_id, data)
       SELECT $1::uuid, gen_random_uuid(), (clock_timestamp() AT TIME ZONE 'utc')::timestamp(3),
         CASE WHEN g % 2 = 1 THEN 'tools.call.request' ELSE 'tools.call.outcome' END,
         jsonb_build_object('type', 'api_key', 'id', md5($1 || 'key'), 'name', 'ci-agent', 'ip', '127.0.0.1', 'userAgent', 'agent/1.0 (bench)'),
         jsonb_build_object('type', 'tool', 'connection', 'everything', 'tool', 'echo'),
         CASE WHEN g % 2 = 1 THEN 'allowed' WHEN g % 10 = 0 THEN 'denied' ELSE 'success' END,
         md5(g::text),
         jsonb_build_object('arguments', jsonb_build_object('message', 'héllo wörld ' || g, 'password', 'hmac:' || md5(g::text)), 'latencyMs', g % 250)
       FROM generate_series(1, $2::int) AS g`,
      [orgIds.get(org), count],
    );
  };
  const recordCount = async (org: Org) =>
    Number((await query<{ n: string }>(gateway.databaseUrl, 'SELECT count(*)::text AS n FROM audit_records WHERE organization_id = $1', [orgIds.get(org)]))[0]!.n);
  const waitChained = (org: Org, timeoutMs = 60_000) =>
    waitFor(`${org} records chained`, async () => {
      const [row] = await query<{ n: string }>(gateway.databaseUrl, 'SELECT count(*)::text AS n FROM audit_records WHERE organization_id = $1 AND seq IS NULL', [orgIds.get(org)]);
      return row!.n === '0';
    }, timeoutMs, 100);
  const waitCaughtUp = (org: Org, name: string, timeoutMs = 90_000, everyMs = 100) =>
    waitFor(`sink ${name} to catch up`, async () => {
      const found = await sink(org, name);
      return found.lag === 0 && found.cursor !== '0' ? found : null;
    }, timeoutMs, everyMs);

  /** eventId → every message body rsyslog wrote for it (duplicates kept), for one organization and format. */
  const syslogMessages = (server: SyslogServer, org: Org) => {
    const byId = new Map<string, string[]>();
    for (const line of server.lines()) {
      const match = SYSLOG_LINE.exec(line);
      expect(match).not.toBeNull();
      const body = JSON.parse(match![6]!) as Record<string, unknown>;
      const organization = (body['organizationId'] ?? (body['metadata'] as { tenant_uid?: string }).tenant_uid) as string;
      if (organization !== orgIds.get(org)) continue;
      const key = `${body['class_uid'] ? 'ocsf' : 'native'}:${eventIdOf(body)}`;
      byId.set(key, [...(byId.get(key) ?? []), match![6]!]);
      // The header: facility 13 (log audit), MSGID the kind.
      expect(Math.floor(Number(match![1]) / 8)).toBe(13);
      expect(match![5]).toBe(((body['kind'] ?? (body['metadata'] as { event_code: string }).event_code) as string).slice(0, 32));
    }
    return byId;
  };

  /** Every chained record arrived in this format, each copy exactly the record's JSON. Returns the duplicate count. */
  const expectAllSyslog = (messages: Map<string, string[]>, records: StoredAuditRecord[], format: string): number => {
    let duplicates = 0;
    const missing = records.filter((record) => !messages.has(`${format}:${record.eventId}`));
    expect(missing.map((record) => record.seq?.toString())).toEqual([]);
    for (const record of records) {
      const copies = messages.get(`${format}:${record.eventId}`)!;
      duplicates += copies.length - 1;
      expect(new Set(copies).size).toBe(1);
      expect(JSON.parse(copies[0]!)).toStrictEqual(expectedBody(record, format));
    }
    return duplicates;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-sinks-'));
    tls = makeTlsFiles(dir);
    const [tcpPort, tlsPort] = [await freePort(), await freePort()];
    syslog = await startSyslogServer(tcpPort, { dir: join(dir, 'tcp') });
    syslogTls = await startSyslogServer(tlsPort, { dir: join(dir, 'tls'), tls });
    hooks = await startWebhookReceiver({ '/good': CANARY_WEBHOOK_SECRET, '/bad': CANARY_WEBHOOK_SECRET, '/bench': CANARY_WEBHOOK_SECRET }, { failFirst: { '/good': 3 } });
    hec = await startHecReceiver(CANARY_HEC_TOKEN);
    const organizations = ORGS.map((org) => {
      const sinksYaml =
        org === 'syslog'
          ? `\n    auditSinks:\n      - { name: soc-syslog, type: syslog, host: 127.0.0.1, port: ${tcpPort}, format: native, batchSize: 50 }`
          : org === 'tls'
            ? `\n    auditSinks:\n      - { name: soc-tls, type: syslog, host: 127.0.0.1, port: ${tlsPort}, tls: true, caFile: "${tls.caFile}", format: ocsf }`
          : org === 'hec'
            ? `\n    auditSinks:\n      - { name: splunk, type: splunk_hec, url: "${hec.baseUrl}", tokenEnv: HEC_TOKEN, format: ocsf, index: audit }`
            : '';
      const member = org === 'hec' ? '\n      - { name: member, role: member, secretEnv: MEMBER }' : '';
      return `\n  - slug: sinks-${org}\n    name: Sinks ${org}\n    apiKeys:\n      - { name: admin, role: admin, secretEnv: ADMIN_${org.toUpperCase()} }${member}${sinksYaml}`;
    });
    gateway = await startGateway({
      yaml: `organizations:${organizations.join('')}\n`,
      vars: { HEC_TOKEN: CANARY_HEC_TOKEN, MEMBER: MEMBER_KEY, ...Object.fromEntries(ORGS.map((org) => [`ADMIN_${org.toUpperCase()}`, adminKey(org)])) },
    });
    for (const org of ORGS) {
      const [row] = await query<{ id: string }>(gateway.databaseUrl, 'SELECT id::text FROM organizations WHERE slug = $1', [`sinks-${org}`]);
      orgIds.set(org, row!.id);
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([syslog?.stop(), syslogTls?.stop(), hooks?.stop(), hec?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    // The lead reports these numbers.
    console.log(`Audit sink throughput (events/s): ${JSON.stringify(throughput)}`);
  });

  it('delivers a 10,000-event run to rsyslog over TCP exactly as sent, across a kill and restart of the server', async () => {
    // A second sink through the API, in OCSF, to the same server; its creation is itself a record.
    const ocsf = await createSink('syslog', { name: 'soc-ocsf', type: 'syslog', host: '127.0.0.1', port: syslog.port, format: 'ocsf' });
    expect(ocsf).toMatchObject({ type: 'syslog', format: 'ocsf', configManaged: false, state: 'active' });
    const key = await api<{ id: string }>('syslog', 'POST', '/api/v1/api-keys', { name: 'agent', role: 'member' });
    expect(key.status).toBe(201);
    expect((await api('syslog', 'DELETE', `/api/v1/api-keys/${key.body.id}`)).status).toBe(200);
    const started = Date.now();
    await insertRecords('syslog', 10_000 - (await recordCount('syslog')));

    const atKill = await waitFor('the syslog sink to be part-way', async () => {
      const found = await sink('syslog', 'soc-syslog');
      return Number(found.cursor) >= 2_500 ? found : null;
    }, 60_000, 20);
    // Hung first (SIGSTOP: it reads nothing while Gatehouse's writes fill the socket buffers), then killed
    // with all that unread, down for a while, and started again on the same port.
    await syslog.signal('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const hung = await sink('syslog', 'soc-syslog');
    await syslog.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const during = await sink('syslog', 'soc-syslog');
    await syslog.restart();

    const [native, ocsfDone] = [await waitCaughtUp('syslog', 'soc-syslog'), await waitCaughtUp('syslog', 'soc-ocsf')];
    const seconds = (Date.now() - started) / 1000;
    const records = await chained('syslog');
    expect(records).toHaveLength(10_000);
    expect(native.cursor).toBe('10000');
    expect(ocsfDone.cursor).toBe('10000');
    expect(Number(atKill.cursor)).toBeLessThan(10_000);
    // Both sinks' lines are written by the time rsyslog has them all.
    const messages = await waitFor('rsyslog to write every event', () => {
      const found = syslogMessages(syslog, 'syslog');
      return records.every((r) => found.has(`native:${r.eventId}`) && found.has(`ocsf:${r.eventId}`)) ? found : null;
    }, 30_000, 250).catch(() => syslogMessages(syslog, 'syslog'));
    const duplicates = { native: expectAllSyslog(messages, records, 'native'), ocsf: expectAllSyslog(messages, records, 'ocsf') };
    console.log(
      `syslog TCP: 10,000 events x 2 sinks in ${seconds.toFixed(1)} s; rsyslog hung at cursor ${atKill.cursor} for 2 s ` +
        `(cursor ${hung.cursor} when killed), down 2 s (failures: ${during.failures}); duplicates re-sent: ${JSON.stringify(duplicates)}`,
    );
  }, 180_000);

  it('delivers over TLS (RFC 5425) to rsyslog with its gtls driver, trusting the CA file the config file names', async () => {
    await insertRecords('tls', 500);
    await waitChained('tls');
    const done = await waitCaughtUp('tls', 'soc-tls');
    const records = await chained('tls');
    expect(done).toMatchObject({ cursor: String(records.length), configManaged: true, settings: { tls: true } });
    const messages = await waitFor('rsyslog (TLS) to write every event', () => {
      const found = syslogMessages(syslogTls, 'tls');
      return records.every((r) => found.has(`ocsf:${r.eventId}`)) ? found : null;
    }, 15_000, 250);
    expect(expectAllSyslog(messages, records, 'ocsf')).toBe(0);

    // Throughput over TLS, timed from the insert (so chaining is included).
    const started = Date.now();
    await insertRecords('tls', 5_000);
    const caughtUp = await waitFor('the TLS sink to catch up', async () => {
      const found = await sink('tls', 'soc-tls');
      return Number(found.cursor) >= records.length + 5_000 && found.lag === 0 ? found : null;
    }, 90_000, 20);
    throughput['syslog_tls (incl. chaining)'] = Math.round((Number(caughtUp.cursor) - records.length) / ((Date.now() - started) / 1000));

    // The file owns this sink; and only the file may name a CA file on the gateway's host.
    expect((await api('tls', 'PATCH', `/api/v1/audit/sinks/${done.id}`, { enabled: false })).status).toBe(409);
    const withCa = { name: 'own-ca', type: 'syslog', host: '127.0.0.1', port: syslogTls.port, tls: true, caFile: tls.caFile };
    expect((await api('tls', 'POST', '/api/v1/audit/sinks', withCa)).status).toBe(400);
    expect((await api('tls', 'POST', '/api/v1/audit/sinks', { name: 'soc-tls', type: 'syslog', host: '127.0.0.1', port: 1 })).status).toBe(409);
  }, 120_000);

  it('a TLS sink that does not trust the server certificate fails and does not deliver', async () => {
    const untrusted = await createSink('tls', { name: 'untrusted', type: 'syslog', host: '127.0.0.1', port: syslogTls.port, tls: true, format: 'ocsf' });
    const failed = await waitFor('a failed TLS attempt', async () => {
      const found = await sink('tls', untrusted.name);
      return found.failures > 0 ? found : null;
    });
    expect(failed).toMatchObject({ cursor: '0', state: 'active' });
    expect(failed.lastError).toMatch(/certificate/i);

    const disabled = await api<AuditSinkInfo>('tls', 'PATCH', `/api/v1/audit/sinks/${untrusted.id}`, { enabled: false, batchSize: 20 });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ enabled: false, settings: { batchSize: 20, tls: true }, configManaged: false });
    expect(JSON.stringify(disabled.body)).not.toMatch(/secret|token/i);
    expect((await api('tls', 'PATCH', `/api/v1/audit/sinks/${untrusted.id}`, { host: 'elsewhere' })).status).toBe(400);
    expect((await api('tls', 'PATCH', `/api/v1/audit/sinks/${untrusted.id}`, { enabled: true })).body).toMatchObject({ enabled: true });
    expect((await api('tls', 'DELETE', `/api/v1/audit/sinks/${untrusted.id}`)).status).toBe(200);
  });

  it('signs webhook batches per Standard Webhooks, retries 500s, dead-letters a wrong secret and resumes after retry', async () => {
    const deliverer = gateway.app.get(AuditSinkDeliverer, { strict: false });
    const policy = deliverer.retryPolicy;
    // Seconds rather than minutes to the dead-letter state.
    deliverer.retryPolicy = { deadLetterAfter: 4, delayMs: () => 300 };
    try {
      await createSink('hooks', { name: 'good-hook', type: 'webhook', url: `${hooks.baseUrl}/good`, secret: CANARY_WEBHOOK_SECRET, format: 'native', batchSize: 200 });
      const bad = await createSink('hooks', { name: 'bad-hook', type: 'webhook', url: `${hooks.baseUrl}/bad`, secret: 'not-the-right-secret-0000', format: 'ocsf' });
      await insertRecords('hooks', 1_000);
      await waitChained('hooks');
      // Other records may be chained meanwhile (the sinks' own admin records): wait for at least these.
      const records = await chained('hooks');
      const good = await waitFor('the good sink to deliver them', async () => {
        const found = await sink('hooks', 'good-hook');
        return Number(found.cursor) >= records.length ? found : null;
      }, 90_000, 100);

      const posts = hooks.posts.filter((post) => post.path === '/good');
      expect(posts.every((post) => post.verified)).toBe(true);
      expect(posts.filter((post) => post.status === 500)).toHaveLength(3);
      const received = new Set(hooks.eventIds('/good'));
      expect(records.filter((record) => !received.has(record.eventId))).toEqual([]);
      // webhook-id names the batch's records (sink:firstSeq-lastSeq): the same id always carries the same events.
      const eventsOf = (body: string) => (JSON.parse(body) as { events: Record<string, unknown>[] }).events.map(eventIdOf);
      const byWebhookId = new Map<string, string>();
      for (const post of posts) {
        expect(post.id).toMatch(new RegExp(`^${good.id}:(\\d+)-(\\d+)$`));
        const ids = eventsOf(post.body).join(',');
        expect(byWebhookId.get(post.id) ?? ids).toBe(ids);
        byWebhookId.set(post.id, ids);
      }
      for (const post of posts.filter((p) => p.status === 204).slice(0, 3)) {
        for (const event of (JSON.parse(post.body) as { events: Record<string, unknown>[] }).events) {
          expect(event).toStrictEqual(expectedBody(records.find((r) => r.eventId === event['eventId'])!, 'native'));
        }
      }

      const dead = await waitFor('the wrong-secret sink to be dead-lettered', async () => {
        const found = await sink('hooks', 'bad-hook');
        return found.state === 'dead_letter' ? found : null;
      }, 30_000);
      expect(dead).toMatchObject({ failures: 4, cursor: '0' });
      expect(dead.lag).toBeGreaterThanOrEqual(records.length);
      expect(dead.lastError).toMatch(/401/);
      expect(hooks.posts.filter((post) => post.path === '/bad').every((post) => !post.verified && post.status === 401)).toBe(true);
      const metrics = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
      const labels = `organization="${orgIds.get('hooks')}",sink="bad-hook"`;
      expect(metrics).toContain(`gatehouse_audit_sink_dead_letter{${labels}} 1`);
      const lag = new RegExp(`gatehouse_audit_sink_lag_records\\{${labels}\\} (\\d+)`).exec(metrics);
      expect(Number(lag?.[1])).toBeGreaterThanOrEqual(records.length);
      expect(metrics).toContain(`gatehouse_audit_sink_dead_letter{organization="${orgIds.get('hooks')}",sink="good-hook"} 0`);
      expect(metrics).toMatch(new RegExp(`gatehouse_audit_sink_failures_total\\{${labels}\\} 4`));
      expect(metrics).toMatch(/gatehouse_audit_sink_delivered_total\{organization="[^"]+",sink="good-hook"\} \d+/);

      // Dead-lettered: nothing more is attempted until an admin fixes the sink and retries.
      const attempts = hooks.posts.filter((post) => post.path === '/bad').length;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(hooks.posts.filter((post) => post.path === '/bad').length).toBe(attempts);
      const fixed = await api<AuditSinkInfo>('hooks', 'PUT', `/api/v1/audit/sinks/${bad.id}`, {
        name: 'bad-hook',
        type: 'webhook',
        url: `${hooks.baseUrl}/bad`,
        secret: CANARY_WEBHOOK_SECRET,
        format: 'ocsf',
      });
      expect(fixed.status).toBe(200);
      expect(fixed.body.state).toBe('dead_letter');
      const retried = await api<AuditSinkInfo>('hooks', 'POST', `/api/v1/audit/sinks/${bad.id}/retry`);
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ state: 'active', failures: 0 });
      const resumed = await waitCaughtUp('hooks', 'bad-hook');
      // Everything up to the sink's cursor arrived (the admin calls above are records too, chained meanwhile or soon).
      const all = (await chained('hooks')).filter((record) => record.seq! <= BigInt(resumed.cursor));
      expect(all).toHaveLength(Number(resumed.cursor));
      expect(all.length).toBeGreaterThanOrEqual(records.length);
      const got = new Set(hooks.eventIds('/bad'));
      expect(all.filter((record) => !got.has(record.eventId))).toEqual([]);
    } finally {
      deliverer.retryPolicy = policy;
    }
  }, 90_000);

  it('sends authenticated Splunk HEC batches with every event, and keeps config-file sinks read-only', async () => {
    await insertRecords('hec', 1_000);
    await waitChained('hec');
    const done = await waitCaughtUp('hec', 'splunk');
    const records = await chained('hec');
    expect(done).toMatchObject({ configManaged: true, cursor: String(records.length), type: 'splunk_hec', format: 'ocsf' });
    expect(hec.requests.length).toBeGreaterThan(1);
    expect(hec.requests.every((request) => request.status === 200 && request.authorization === `Splunk ${CANARY_HEC_TOKEN}`)).toBe(true);
    const events = hec.events();
    expect(events.every((e) => e.source === 'gatehouse' && e.sourcetype === 'gatehouse:audit' && e.index === 'audit')).toBe(true);
    const byId = new Map(events.map((e) => [eventIdOf(e.event), e]));
    for (const record of records) {
      const event = byId.get(record.eventId);
      expect(event).toBeDefined();
      expect(event!.time).toBe(record.occurredAt.getTime() / 1000);
      expect(event!.event).toStrictEqual(expectedBody(record, 'ocsf'));
    }

    expect((await api('hec', 'PATCH', `/api/v1/audit/sinks/${done.id}`, { enabled: false })).status).toBe(409);
    expect((await api('hec', 'DELETE', `/api/v1/audit/sinks/${done.id}`)).status).toBe(409);
    expect((await api('hec', 'POST', `/api/v1/audit/sinks/${done.id}/retry`)).status).toBe(200);
    // Admins only: members neither see nor change sinks.
    expect((await apiRequest(gateway.baseUrl, MEMBER_KEY, 'GET', '/api/v1/audit/sinks')).status).toBe(403);
    expect((await apiRequest(gateway.baseUrl, MEMBER_KEY, 'POST', `/api/v1/audit/sinks/${done.id}/retry`)).status).toBe(403);
    // Another organization's sink does not exist for this one.
    expect((await api('tls', 'GET', `/api/v1/audit/sinks/${done.id}`)).status).toBe(404);
  }, 60_000);

  it('never puts a webhook secret or HEC token into any sink output or the API', async () => {
    const outputs = [
      ...syslog.lines(),
      ...syslogTls.lines(),
      ...hooks.posts.map((post) => post.body),
      ...hec.requests.map((request) => request.body),
      JSON.stringify(await Promise.all(ORGS.map((org) => sinks(org)))),
    ];
    expect(outputs.length).toBeGreaterThan(20_000);
    for (const canary of [CANARY_WEBHOOK_SECRET, CANARY_HEC_TOKEN]) {
      expect(outputs.filter((output) => output.includes(canary))).toEqual([]);
    }
    const stored = await query<{ n: string }>(
      gateway.databaseUrl,
      `SELECT count(*)::text AS n FROM audit_records WHERE data::text LIKE $1 OR data::text LIKE $2`,
      [`%${CANARY_WEBHOOK_SECRET}%`, `%${CANARY_HEC_TOKEN}%`],
    );
    expect(stored[0]!.n).toBe('0');
  });

  it('measures each sink type catching up on a 5,000-event backlog', async () => {
    await insertRecords('bench', 5_000);
    await waitChained('bench');
    const kinds: [string, Record<string, unknown>][] = [
      ['syslog_tcp', { type: 'syslog', host: '127.0.0.1', port: syslog.port }],
      ['webhook', { type: 'webhook', url: `${hooks.baseUrl}/bench`, secret: CANARY_WEBHOOK_SECRET }],
      ['splunk_hec', { type: 'splunk_hec', url: hec.baseUrl, token: CANARY_HEC_TOKEN }],
    ];
    for (const [name, settings] of kinds) {
      const started = Date.now();
      await createSink('bench', { name: name.replace('_', '-'), format: 'ocsf', batchSize: 100, ...settings });
      const done = await waitCaughtUp('bench', name.replace('_', '-'), 90_000, 20);
      const count = Number(done.cursor);
      expect(count).toBeGreaterThanOrEqual(5_000);
      throughput[name] = Math.round(count / ((Date.now() - started) / 1000));
    }
  }, 240_000);
});
