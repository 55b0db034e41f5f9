import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { apiRequest } from '../support/admin-api';
import { createTestDatabase, query, redisPrefix } from '../support/database';
import { gatewayEnvironment, spawnGateway, SpawnedGateway, waitUntilReady } from '../support/gateway';
import { withPlatform } from '../support/platform';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { freePort, RunningServer, startFixtureHttp } from '../support/servers';
import { HecReceiver, startHecReceiver, startWebhookReceiver, WebhookReceiver } from '../support/siem-receivers';
import { waitFor } from '../support/wait';

// The built gateway runs as its own process (its log output is part of what is checked) on 2 shared cores.
jest.setTimeout(180_000);

const KEYS = { admin: 'ghk_test_auditcalls_admin_key_001', member: 'ghk_test_auditcalls_member_key_02', managed: 'ghk_test_auditcalls_managed_key_3' };
const canary = () => `canary-${randomBytes(12).toString('hex')}`;
const HEADER_CANARY = canary();
const HOOK_SECRET = `hook-secret-${randomBytes(12).toString('hex')}`;
const HEC_TOKEN = `hec-token-${randomBytes(12).toString('hex')}`;
const HMAC = /^hmac-sha256:[0-9a-f]{64}$/;

interface AuditRow extends Record<string, unknown> {
  id: string;
  kind: string;
  call_id: string;
  outcome: string | null;
  actor: { type: string; name: string; ip: string | null; userAgent: string | null };
  target: { type: string; connection: string; tool: string; downstreamTool: string | null };
  trace_id: string | null;
  data: Record<string, unknown> & { arguments?: Record<string, unknown> };
}

interface CallRecords {
  request: AuditRow;
  outcome: AuditRow;
}

const yaml = (fixtureUrl: string, hookUrl: string, hecUrl: string) => `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: member, role: member, secretEnv: MEMBER }
    connections:
      - { name: fx, transport: http, url: "${fixtureUrl}", headers: { X-Api-Key: "\${HEADER_CANARY}" } }
    defaultEffect: allow
    policies:
      - name: members-write-no-notes
        match: { roles: [member], tools: ["fx_write_note"] }
        effect: deny
      - name: new-tools-need-approval
        match: { tools: ["fx_add_tool"] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
    costs:
      - { connection: fx, tool: count, perCallUsd: 1 }
    budgets:
      - { scope: organization, period: month, limitUsd: 1 }
    # SIEM sinks: what they send is checked for canaries too.
    auditSinks:
      - { name: soc-hook, type: webhook, url: "${hookUrl}", secretEnv: HOOK_SECRET, format: native }
      - { name: splunk, type: splunk_hec, url: "${hecUrl}", tokenEnv: HEC_TOKEN, format: ocsf }
  - slug: managed
    name: Managed
    apiKeys:
      - { name: admin, role: admin, secretEnv: MANAGED }
    audit: { level: metadata, failMode: closed }
`;

// tools/call auditing end to end: request and outcome records per call, fail closed, detail levels, redaction.
describe('tools/call audit records', () => {
  const directory = mkdtempSync(join(tmpdir(), 'gatehouse-audit-calls-'));
  const marker = join(directory, 'marks');
  let fixture: RunningServer;
  let hook: WebhookReceiver;
  let hec: HecReceiver;
  let gateway: SpawnedGateway | undefined;
  let baseUrl: string;
  let databaseUrl: string;
  let organizationId: string;
  let admin: Client;
  let member: Client;

  const downstreamCalls = (tool: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === `call:${tool}`).length : 0);
  const api = <T>(method: string, path: string, body?: unknown, key = KEYS.admin) => apiRequest<T>(baseUrl, key, method, path, body);
  const setSettings = async (settings: Record<string, unknown>) => {
    const reply = await api<Record<string, unknown>>('PUT', '/api/v1/audit/settings', settings);
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const rows = (where: string, params: unknown[]) =>
    query<AuditRow>(
      databaseUrl,
      `SELECT id::text, kind, call_id::text, outcome, actor, target, trace_id, data FROM audit_records WHERE organization_id = $1 AND ${where} ORDER BY id`,
      [organizationId, ...params],
    );
  // Outcome records are written just after the reply, so they are waited for.
  const recordsOf = (callId: string) =>
    waitFor(`the records of call ${callId}`, async () => {
      const found = await rows('call_id = $2', [callId]);
      if (found.length < 2) return null;
      expect(found.map((row) => row.kind)).toEqual(['tools.call.request', 'tools.call.outcome']);
      return { request: found[0]!, outcome: found[1]! } satisfies CallRecords;
    });
  const latestCall = async () => {
    const [last] = await query<{ call_id: string }>(
      databaseUrl,
      "SELECT call_id::text FROM audit_records WHERE organization_id = $1 AND kind = 'tools.call.request' ORDER BY id DESC LIMIT 1",
      [organizationId],
    );
    return recordsOf(last!.call_id);
  };

  beforeAll(async () => {
    fixture = await startFixtureHttp({ FIXTURE_MARKER: marker });
    hook = await startWebhookReceiver({ '/hook': HOOK_SECRET });
    hec = await startHecReceiver(HEC_TOKEN);
    const configPath = join(directory, 'gatehouse.yaml');
    writeFileSync(configPath, withPlatform(yaml(fixture.url, `${hook.baseUrl}/hook`, hec.baseUrl)));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    databaseUrl = await createTestDatabase();
    gateway = spawnGateway(
      gatewayEnvironment({
        databaseUrl,
        redisPrefix: redisPrefix(),
        env: {
          PORT: String(port),
          PUBLIC_URL: baseUrl,
          GATEHOUSE_CONFIG: configPath,
          GATEHOUSE_MIGRATE: 'false',
          // Everything the gateway logs is searched for canaries, so it logs everything.
          LOG_LEVEL: 'debug',
          ADMIN: KEYS.admin,
          MEMBER: KEYS.member,
          MANAGED: KEYS.managed,
          HEADER_CANARY,
          HOOK_SECRET,
          HEC_TOKEN,
        },
      }),
    );
    await waitUntilReady(gateway!, baseUrl, 90_000);
    [organizationId] = (await query<{ id: string }>(databaseUrl, "SELECT id::text FROM organizations WHERE slug = 'acme'")).map((row) => row.id);
    admin = await connectClient(`${baseUrl}/mcp`, KEYS.admin);
    member = await connectClient(`${baseUrl}/mcp`, KEYS.member);
    await waitFor('fx tools to be listed', async () => (await listAllTools(admin)).some((tool) => tool.name === 'fx_echo'), 60_000);
  });

  afterAll(async () => {
    await Promise.allSettled([admin?.close(), member?.close()]);
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
    await Promise.allSettled([fixture?.stop(), hook?.stop(), hec?.stop()]);
  });

  it('records an allowed call as a request and an outcome sharing one call id', async () => {
    const result = await admin.callTool({ name: 'fx_echo', arguments: { text: 'allowed call' } });
    expect(result.isError).toBeFalsy();
    const { request, outcome } = await latestCall();
    expect(request.call_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(request).toMatchObject({
      outcome: null,
      actor: { type: 'api_key', name: 'admin', ip: expect.stringMatching(/127\.0\.0\.1/), userAgent: expect.any(String) },
      target: { type: 'tool', connection: 'fx', tool: 'fx_echo', downstreamTool: 'echo' },
      data: { arguments: { text: 'allowed call' } },
    });
    expect(outcome).toMatchObject({ outcome: 'ok', actor: request.actor, target: request.target });
    expect(outcome.data).toMatchObject({ outcome: 'ok', decision: 'allow', rule: { name: expect.any(String) }, costMicros: 0 });
    expect(outcome.data['latencyMs']).toEqual(expect.any(Number));
    expect(outcome.data['resultBytes']).toBeGreaterThan(10);
    expect(outcome.data['error']).toBeUndefined();
    // Nothing is left open.
    expect(await query(databaseUrl, 'SELECT 1 FROM audit_open_calls')).toHaveLength(0);
  });

  it('records the W3C trace id the caller sent', async () => {
    const traceId = randomBytes(16).toString('hex');
    const traced = new Client({ name: 'traced', version: '1.0.0' });
    await traced.connect(
      new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${KEYS.admin}`, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } },
      }),
    );
    try {
      await traced.callTool({ name: 'fx_echo', arguments: { text: 'traced' } });
    } finally {
      await traced.close();
    }
    const { request, outcome } = await latestCall();
    expect([request.trace_id, outcome.trace_id]).toEqual([traceId, traceId]);
  });

  it('records denied, approval-required and budget-blocked calls with their decision, rule, approval id and cost', async () => {
    const denied = await member.callTool({ name: 'fx_write_note', arguments: { text: 'denied note' } });
    expect(textOf(denied)).toMatch(/^Permission denied/);
    const deniedRecords = await latestCall();
    expect(deniedRecords.outcome).toMatchObject({
      outcome: 'denied',
      actor: { name: 'member' },
      data: { decision: 'deny', rule: { name: 'members-write-no-notes' }, error: textOf(denied) },
    });
    expect(deniedRecords.request.data).toEqual({ arguments: { text: 'denied note' } });

    const held = await member.callTool({ name: 'fx_add_tool', arguments: { name: 'extra' } });
    const approvalId = /Request ([0-9a-f-]{36})/.exec(textOf(held))![1];
    expect((await latestCall()).outcome).toMatchObject({
      outcome: 'approval_required',
      data: { decision: 'require_approval', rule: { name: 'new-tools-need-approval' }, approvalId },
    });

    const before = downstreamCalls('count');
    expect((await admin.callTool({ name: 'fx_count', arguments: {} })).isError).toBeFalsy();
    const charged = await latestCall();
    expect(charged.outcome.data).toMatchObject({ outcome: 'ok', costMicros: 1_000_000, costUsd: 1 });
    const blocked = await admin.callTool({ name: 'fx_count', arguments: {} });
    expect(textOf(blocked)).toMatch(/budget/i);
    expect(downstreamCalls('count')).toBe(before + 1);
    const blockedRecords = await latestCall();
    expect(blockedRecords.outcome).toMatchObject({ outcome: 'budget_blocked', data: { decision: 'allow', error: textOf(blocked) } });
    expect(blockedRecords.request.call_id).not.toBe(charged.request.call_id);
  });

  it('records invalid arguments and downstream errors', async () => {
    expect((await admin.callTool({ name: 'fx_echo', arguments: { wrong: 1 } })).isError).toBe(true);
    expect((await latestCall()).outcome).toMatchObject({ outcome: 'invalid', data: { error: expect.stringMatching(/^Invalid arguments/) } });
    expect((await admin.callTool({ name: 'fx_fail', arguments: {} })).isError).toBe(true);
    expect((await latestCall()).outcome).toMatchObject({ outcome: 'error', data: { error: expect.stringMatching(/fixture failure/) } });
    // Gatehouse's own tools are audited the same way.
    expect((await admin.callTool({ name: 'gatehouse_list_connections', arguments: {} })).isError).toBeFalsy();
    expect((await latestCall()).outcome).toMatchObject({ outcome: 'ok', target: { connection: 'gatehouse', tool: 'gatehouse_list_connections', downstreamTool: null } });
  });

  it('keeps what the detail level says: metadata, arguments, results (truncated)', async () => {
    await setSettings({ level: 'metadata' });
    await admin.callTool({ name: 'fx_echo', arguments: { text: 'metadata only' } });
    const metadata = await latestCall();
    expect(metadata.request.data).toEqual({});
    expect(metadata.outcome.data['result']).toBeUndefined();
    expect(metadata.outcome.data['resultBytes']).toBeGreaterThan(0);

    await setSettings({ level: 'results', resultMaxBytes: 256 });
    await admin.callTool({ name: 'fx_echo', arguments: { text: 'small' } });
    const small = await latestCall();
    expect(small.request.data).toEqual({ arguments: { text: 'small' } });
    expect(small.outcome.data).toMatchObject({ result: { content: [{ type: 'text', text: 'echo: small' }], structuredContent: { text: 'small' } } });
    expect(small.outcome.data['truncated']).toBeUndefined();

    await admin.callTool({ name: 'fx_echo', arguments: { text: 'x'.repeat(1000) } });
    const large = await latestCall();
    expect(large.outcome.data).toMatchObject({ truncated: true, resultOriginalBytes: expect.any(Number) });
    expect(large.outcome.data['resultOriginalBytes']).toBeGreaterThan(2000);
    expect(typeof large.outcome.data['result']).toBe('string');
    expect(Buffer.byteLength(large.outcome.data['result'] as string)).toBeLessThanOrEqual(256);
  });

  it('never stores, logs or sends to a SIEM canary secrets from arguments, admin paths, headers or new connections', async () => {
    const secret = canary();
    const other = canary();
    const pathSecret = canary();
    const newHeader = canary();
    await setSettings({ level: 'results', redactPaths: ['$.customer.ssn'] });
    // fixture tools accept only their own arguments: these calls are refused as invalid, and audited all the same.
    await admin.callTool({ name: 'fx_echo', arguments: { text: 'canaries', password: secret, api_key: secret, credentials: { token: other }, customer: { ssn: pathSecret, name: 'Ann' } } });
    const { request } = await latestCall();
    const args = request.data.arguments as { password: string; api_key: string; credentials: { token: string }; customer: { ssn: string; name: string } };
    expect(args.password).toMatch(HMAC);
    expect(args.api_key).toBe(args.password);
    expect(args.credentials.token).toMatch(HMAC);
    expect(args.credentials.token).not.toBe(args.password);
    expect(args.customer).toEqual({ ssn: expect.stringMatching(HMAC), name: 'Ann' });

    const created = await admin.callTool({
      name: 'gatehouse_create_connection',
      arguments: { name: 'fx-two', transport: 'http', url: fixture.url, headers: { 'X-Custom': newHeader } },
    });
    expect(created.isError).toBeFalsy();
    const creation = await latestCall();
    expect((creation.request.data.arguments as { headers: Record<string, string> }).headers['X-Custom']).toMatch(HMAC);

    // What the SIEM sinks sent, once they delivered the last record.
    const [last] = await query<{ event_id: string }>(databaseUrl, 'SELECT event_id::text FROM audit_records WHERE organization_id = $1 ORDER BY id DESC LIMIT 1', [
      organizationId,
    ]);
    await waitFor('the sinks to deliver the last record', () => hook.eventIds('/hook').includes(last!.event_id) && hec.events().some((e) => (e.event['metadata'] as { uid: string }).uid === last!.event_id), 30_000);
    const sent = [...hook.posts.map((post) => post.body), ...hec.requests.map((request) => request.body)].join('\n');
    expect(sent).toContain(creation.request.call_id);

    // The whole table as text, and everything the gateway printed.

    const [dump] = await query<{ text: string }>(databaseUrl, 'SELECT string_agg(t::text, E\'\\n\') AS text FROM audit_records t');
    const [open] = await query<{ text: string | null }>(databaseUrl, 'SELECT string_agg(t::text, E\'\\n\') AS text FROM audit_open_calls t');
    for (const value of [secret, other, pathSecret, newHeader, HEADER_CANARY]) {
      expect(dump!.text).not.toContain(value);
      expect(open!.text ?? '').not.toContain(value);
      expect(gateway!.output()).not.toContain(value);
      expect(sent).not.toContain(value);
    }
    expect(gateway!.output()).toContain('tools'); // the log is really captured
  });

  it('refuses the settings of an organization the config file manages, and reports them', async () => {
    const reply = await api('PUT', '/api/v1/audit/settings', { level: 'results' }, KEYS.managed);
    expect(reply.status).toBe(409);
    const current = await api<Record<string, unknown>>('GET', '/api/v1/audit/settings', undefined, KEYS.managed);
    expect(current.body).toMatchObject({ level: 'metadata', failMode: 'closed', configManaged: true });
    expect((await api('PUT', '/api/v1/audit/settings', { level: 'bogus' })).status).toBe(400);
    expect((await api('PUT', '/api/v1/audit/settings', { level: 'results' }, KEYS.member)).status).toBe(403);
  });

  it('refuses a call it cannot decide on (its approval request cannot be stored), with both its records', async () => {
    await query(
      databaseUrl,
      `CREATE OR REPLACE FUNCTION approvals_unwritable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'approval store unwritable'; END $$;
       CREATE TRIGGER approvals_unwritable BEFORE INSERT ON approval_requests FOR EACH ROW EXECUTE FUNCTION approvals_unwritable();`,
    );
    try {
      const before = downstreamCalls('add_tool');
      const undecided = await member.callTool({ name: 'fx_add_tool', arguments: { name: 'undecided' } });
      expect(undecided.isError).toBe(true);
      expect(textOf(undecided)).toMatch(/^Gatehouse could not decide on the call to "fx_add_tool" \(error id [0-9a-f-]{36}\); the call was not made\.$/);
      expect(downstreamCalls('add_tool')).toBe(before);
      const { request, outcome } = await latestCall();
      expect(request.data).toEqual({ arguments: { name: 'undecided' } });
      expect(outcome).toMatchObject({
        outcome: 'error',
        actor: { name: 'member' },
        data: { decision: 'require_approval', rule: { name: 'new-tools-need-approval' }, error: textOf(undecided) },
      });
      expect(outcome.data['approvalId']).toBeUndefined();
    } finally {
      await query(databaseUrl, 'DROP TRIGGER IF EXISTS approvals_unwritable ON approval_requests');
    }
  });

  it('fails closed when the audit store cannot write, and goes ahead when the organization chose fail-open (an audited choice)', async () => {
    await setSettings({ level: 'arguments', failMode: 'closed' });
    const breakStore = () =>
      query(
        databaseUrl,
        `CREATE OR REPLACE FUNCTION audit_unwritable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store unwritable'; END $$;
         CREATE TRIGGER audit_unwritable BEFORE INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_unwritable();`,
      );
    const repairStore = () => query(databaseUrl, 'DROP TRIGGER IF EXISTS audit_unwritable ON audit_records');

    await breakStore();
    try {
      const before = downstreamCalls('echo');
      const refused = await admin.callTool({ name: 'fx_echo', arguments: { text: 'must not pass' } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(
        /^Gatehouse could not write the audit record for this call, so it was not made \(error id [0-9a-f-]{36}\); try again or ask an administrator to check the audit store\.$/,
      );
      expect(downstreamCalls('echo')).toBe(before);
    } finally {
      await repairStore();
    }

    const changed = await setSettings({ level: 'arguments', failMode: 'open' });
    expect(changed).toMatchObject({ failMode: 'open', configManaged: false });
    const [record] = await rows("kind = 'audit.settings.changed' AND data->'after'->>'failMode' = 'open'", []);
    expect(record).toMatchObject({ actor: { type: 'api_key', name: 'admin' }, data: { before: { failMode: 'closed' }, after: { failMode: 'open' } } });

    await breakStore();
    try {
      const before = downstreamCalls('echo');
      const passed = await admin.callTool({ name: 'fx_echo', arguments: { text: 'fail open' } });
      expect(passed.isError).toBeFalsy();
      expect(downstreamCalls('echo')).toBe(before + 1);
    } finally {
      await repairStore();
    }
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_audit_write_failures_total\{[^}]*record="request"[^}]*fail_mode="open"[^}]*\} 1/);
    expect(metrics).toMatch(/gatehouse_audit_write_failures_total\{[^}]*record="request"[^}]*fail_mode="closed"[^}]*\} 1/);
  });

  it('chains all these records into a chain that verifies', async () => {
    const reply = await api<{ ok: boolean; records: number; unchained: number }>('GET', '/api/v1/audit/verify');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ ok: true, unchained: 0 });
    expect(reply.body.records).toBeGreaterThan(30);
  });
});
