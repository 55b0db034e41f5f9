import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AuditVerifier, DEPLOYMENT_ORGANIZATION_ID } from '@gatehouse/audit';
import { parseConfigFile } from '@gatehouse/config';
import { RATE_LIMITS } from '@gatehouse/identity';
import { ConfigApplier } from '../../apps/gateway/src/provisioning/config-applier';
import { apiRequest } from '../support/admin-api';
import type { BrowserPage } from '../support/browser';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { listAllTools, textOf } from '../support/mcp-client';
import { codeFrom, OAuthFlow, signInAndApprove, signInWithPassword } from '../support/oauth-flow';
import { FIXTURE_SERVER, fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const KEYS = {
  admin: 'ghk_test_auditev_admin_key_00000001',
  member: 'ghk_test_auditev_member_key_0000002',
  agent: 'ghk_test_auditev_agent_key_00000003',
  betaAdmin: 'ghk_test_auditev_beta_admin_key_0004',
};
const ALICE = { email: 'alice@acme.test', password: 'alice-password-audit-1' };
const USER_AGENT = 'audit-events-test/1.0';

interface AuditRow extends Record<string, unknown> {
  organization_id: string;
  kind: string;
  outcome: string | null;
  actor: { type: string; id: string | null; name: string | null; ip: string | null; userAgent: string | null; user?: { id: string | null; email: string | null } | null };
  target: Record<string, unknown> | null;
  data: Record<string, unknown>;
}

const yaml = (extraRule: boolean) => `
organizations:
  - slug: acme
    name: Acme
    # Approvers here are config keys, which have no person behind them.
    keyApprovals: true
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: member, role: member, secretEnv: MEMBER }
      - { name: agent, role: member, secretEnv: AGENT }
    connections:
      - ${fixtureStdioYaml('tools')}
    policies:
      - name: notes-need-approval
        match: { tools: [tools_write_note] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
      - name: slow-expires-fast
        match: { tools: [tools_slow] }
        effect: require_approval
        approval: { approverRoles: [admin], expiresIn: 2s }${
          extraRule
            ? `
      - name: no-crashes
        match: { tools: [tools_crash] }
        effect: deny`
            : ''
        }
  - slug: beta
    name: Beta
    apiKeys:
      - { name: beta-admin, role: admin, secretEnv: BETA_ADMIN }
`;
const VARS = { ADMIN: KEYS.admin, MEMBER: KEYS.member, AGENT: KEYS.agent, BETA_ADMIN: KEYS.betaAdmin, ALICE_PASSWORD: ALICE.password };

// Every kind of event except tools/call leaves its record, with who (credential, IP, user agent), what and how it ended.
describe('audit events', () => {
  let gateway: TestGateway;
  const orgs = { acme: '', beta: '' };
  // Every secret the suite handles, to prove none reaches the audit log.
  const secrets = new Set<string>([...Object.values(KEYS), ALICE.password]);
  const clients: Client[] = [];

  const api = <T>(token: string | null, method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, token, method, path, body);
  /** The admin API with this suite's user agent, to see it recorded. */
  const apiAs = (token: string, method: string, path: string, body?: unknown) =>
    apiRequest<Record<string, unknown> & { id: string; secret?: string }>(gateway.baseUrl, token, method, path, body, { 'User-Agent': USER_AGENT });
  const connect = async (token: string) => {
    const transport = new StreamableHTTPClientTransport(new URL(gateway.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}`, 'User-Agent': USER_AGENT } } });
    const client = new Client({ name: 'audit-client', version: '2.0.0' });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  };
  const records = (organizationId: string, kind: string) =>
    query<AuditRow>(gateway.databaseUrl, 'SELECT organization_id::text, kind, outcome, actor, target, data FROM audit_records WHERE organization_id = $1 AND kind = $2 ORDER BY id', [
      organizationId,
      kind,
    ]);
  /** Waits for a record of this kind that matches (some are appended just after the response). */
  const recordOf = (organizationId: string, kind: string, matching: (row: AuditRow) => boolean = () => true) =>
    waitFor(`a ${kind} record`, async () => (await records(organizationId, kind)).find(matching), 10_000);

  beforeAll(async () => {
    gateway = await startGateway({ yaml: yaml(false), vars: VARS });
    for (const slug of ['acme', 'beta'] as const) {
      orgs[slug] = (await query<{ id: string }>(gateway.databaseUrl, 'SELECT id::text FROM organizations WHERE slug = $1', [slug]))[0]!.id;
    }
    await waitFor('the fixture tools', async () => (await listAllTools((await connect(KEYS.admin)).client)).some((tool) => tool.name === 'tools_write_note'), 30_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
  });

  it('records MCP session start and end and tools/list, with the key, IP and user agent', async () => {
    const { client, transport } = await connect(KEYS.agent);
    const tools = await client.listTools();
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    const actor = { type: 'api_key', name: 'agent', ip: expect.stringContaining('127.0.0.1'), userAgent: USER_AGENT };
    const started = await recordOf(orgs.acme, 'mcp.session.started', (row) => row.target?.['id'] === sessionId);
    expect(started).toMatchObject({ outcome: 'success', actor, target: { type: 'mcp_session', id: sessionId }, data: { client: { name: 'audit-client', version: '2.0.0' } } });
    const listed = await recordOf(orgs.acme, 'tools.list', (row) => row.target?.['id'] === sessionId);
    expect(listed).toMatchObject({ outcome: 'success', actor, data: { count: tools.tools.length } });
    const ended = await recordOf(orgs.acme, 'mcp.session.ended', (row) => row.target?.['id'] === sessionId);
    expect(ended).toMatchObject({ outcome: 'success', actor, data: { reason: 'deleted', durationMs: expect.any(Number) } });
  });

  it('records admin API changes with their target and outcome, denials by a member, and failures', async () => {
    const created = await apiAs(KEYS.admin, 'POST', '/api/v1/connections', { name: 'audited', transport: 'stdio', command: process.execPath, args: [FIXTURE_SERVER, 'stdio'] });
    expect(created.status).toBe(201);
    expect((await apiAs(KEYS.admin, 'PUT', `/api/v1/connections/${created.body.id}`, { name: 'audited-2', transport: 'stdio', command: process.execPath, args: [FIXTURE_SERVER, 'stdio'] })).status).toBe(200);
    expect((await apiAs(KEYS.admin, 'DELETE', `/api/v1/connections/${created.body.id}`)).status).toBe(204);
    const key = await apiAs(KEYS.admin, 'POST', '/api/v1/api-keys', { name: 'temporary', role: 'member' });
    expect(key.status).toBe(201);
    secrets.add(key.body.secret!);
    expect((await apiAs(KEYS.admin, 'DELETE', `/api/v1/api-keys/${key.body.id}`)).status).toBe(200);
    expect((await apiAs(KEYS.admin, 'PUT', '/api/v1/budgets', { budgets: [{ scope: 'organization', period: 'month', limitUsd: 100 }] })).status).toBe(200);
    expect((await apiAs(KEYS.admin, 'PUT', '/api/v1/costs', { costs: [{ connection: 'tools', perCallUsd: 0.01 }] })).status).toBe(200);
    expect((await apiAs(KEYS.member, 'POST', '/api/v1/connections', { name: 'sneaky', transport: 'stdio', command: 'true' })).status).toBe(403);
    expect((await apiAs(KEYS.admin, 'DELETE', '/api/v1/connections/3f0c8a52-5b1e-4d6a-9c2e-7a8b9c0d1e2f')).status).toBe(404);

    const admin = { type: 'api_key', name: 'admin', ip: expect.stringContaining('127.0.0.1'), userAgent: USER_AGENT };
    const connectionRecords = await records(orgs.acme, 'admin.connection.created');
    expect(connectionRecords.find((row) => row.outcome === 'success')).toMatchObject({
      actor: admin,
      target: { type: 'connection', id: created.body.id, name: 'audited' },
      data: { status: 201, method: 'POST', path: '/api/v1/connections' },
    });
    expect(connectionRecords.find((row) => row.outcome === 'denied')).toMatchObject({
      actor: { type: 'api_key', name: 'member', userAgent: USER_AGENT },
      target: { type: 'connection' },
      data: { status: 403 },
    });
    expect(await records(orgs.acme, 'admin.connection.updated')).toEqual([
      expect.objectContaining({ outcome: 'success', target: { type: 'connection', id: created.body.id, name: 'audited-2' } }),
    ]);
    const deletions = await records(orgs.acme, 'admin.connection.deleted');
    expect(deletions.map((row) => [row.outcome, row.target?.['id'], row.data['status']])).toEqual([
      ['success', created.body.id, 204],
      ['failure', '3f0c8a52-5b1e-4d6a-9c2e-7a8b9c0d1e2f', 404],
    ]);
    expect(await records(orgs.acme, 'admin.api_key.created')).toEqual([
      expect.objectContaining({ outcome: 'success', actor: expect.objectContaining(admin), target: { type: 'api_key', id: key.body.id, name: 'temporary' }, data: expect.objectContaining({ result: expect.objectContaining({ prefix: key.body['prefix'] }) }) }),
    ]);
    expect(await records(orgs.acme, 'admin.api_key.revoked')).toEqual([expect.objectContaining({ outcome: 'success', target: expect.objectContaining({ id: key.body.id }) })]);
    expect(await records(orgs.acme, 'admin.budgets.updated')).toEqual([expect.objectContaining({ outcome: 'success', actor: expect.objectContaining(admin) })]);
    expect(await records(orgs.acme, 'admin.costs.updated')).toEqual([expect.objectContaining({ outcome: 'success', actor: expect.objectContaining(admin) })]);
  });

  it('records policy changes through the admin API, the management tools and the config file', async () => {
    const replaced = await apiAs(KEYS.betaAdmin, 'PUT', '/api/v1/policies', { defaultEffect: 'allow', rules: [{ name: 'no-writes', match: { tools: ['*_write_*'] }, effect: 'deny' }] });
    expect(replaced.status).toBe(200);
    const { client } = await connect(KEYS.betaAdmin);
    const added = await client.callTool({ name: 'gatehouse_create_policy', arguments: { rule: { name: 'no-slow', match: { tools: ['*_slow'] }, effect: 'deny' } } });
    expect(added.isError).toBeFalsy();
    const viaApi = await recordOf(orgs.beta, 'policy.changed', (row) => row.data['via'] === 'admin_api');
    expect(viaApi).toMatchObject({ outcome: 'success', actor: { type: 'api_key', name: 'beta-admin', userAgent: USER_AGENT }, data: { version: replaced.body['version'], rules: 1 } });
    const viaTool = await recordOf(orgs.beta, 'policy.changed', (row) => row.data['via'] === 'management_tool');
    expect(viaTool).toMatchObject({ actor: { type: 'api_key', name: 'beta-admin', userAgent: USER_AGENT, ip: expect.stringContaining('127.0.0.1') }, data: { rules: 2, rule: 'no-slow' } });
    expect(viaTool.data['version']).toBeGreaterThan(viaApi.data['version'] as number);
    expect(await records(orgs.beta, 'admin.policy.updated')).toEqual([expect.objectContaining({ outcome: 'success', data: expect.objectContaining({ result: { version: replaced.body['version'] } }) })]);

    // At boot, then again when a changed file is applied.
    const configActor = expect.objectContaining({ type: 'system', name: 'config-file', ip: null, userAgent: null });
    expect(await records(orgs.acme, 'config.applied')).toEqual([expect.objectContaining({ actor: configActor, data: expect.objectContaining({ created: expect.any(Number), policyChanged: true }) })]);
    expect(await records(orgs.acme, 'policy.changed')).toEqual([expect.objectContaining({ actor: configActor, data: expect.objectContaining({ via: 'config_file', rules: 2 }) })]);
    await gateway.app.get(ConfigApplier).apply(parseConfigFile('test.yaml', yaml(true), { ...process.env, ...VARS }));
    const policies = await records(orgs.acme, 'policy.changed');
    expect(policies).toHaveLength(2);
    expect(policies[1]).toMatchObject({ actor: configActor, data: { via: 'config_file', rules: 3 } });
    expect(policies[1]!.data['version']).toBeGreaterThan(policies[0]!.data['version'] as number);
    expect(await records(orgs.acme, 'config.applied')).toHaveLength(2);
    // Beta did not change: nothing recorded for it.
    expect(await records(orgs.beta, 'config.applied')).toHaveLength(1);
  });

  it('records sign-ins, token issue, refresh, revocation and refresh-token reuse through the OAuth flow', async () => {
    const flows = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
    const signInPage = async () => {
      const started = await flows.start();
      if (started.landed.kind !== 'page') throw new Error('expected the sign-in page');
      return { ...started, page: started.landed };
    };
    const wrong = await signInPage();
    const refused = await signInWithPassword(wrong.page, { email: ALICE.email, password: 'not-her-password' });
    expect(refused.kind === 'page' && refused.status).toBe(401);
    const stranger = await signInPage();
    await signInWithPassword(stranger.page, { email: 'nobody@nowhere.test', password: 'whatever-password' });

    const flow = await signInPage();
    const consent = await signInWithPassword(flow.page, ALICE);
    if (consent.kind !== 'page') throw new Error('expected the consent page');
    const code = codeFrom(await consent.click('Approve'));
    secrets.add(code).add('not-her-password');
    const issued = await flows.exchange({ clientId: flow.clientId, verifier: flow.verifier, code });
    expect(issued.status).toBe(200);
    const refreshed = await flows.tokenRequest({ grant_type: 'refresh_token', client_id: flow.clientId, refresh_token: issued.body['refresh_token']! });
    expect(refreshed.status).toBe(200);
    const reused = await flows.tokenRequest({ grant_type: 'refresh_token', client_id: flow.clientId, refresh_token: issued.body['refresh_token']! });
    expect(reused.body['error']).toBe('invalid_grant');
    for (const token of [issued.body['access_token']!, issued.body['refresh_token']!, refreshed.body['access_token']!, refreshed.body['refresh_token']!]) secrets.add(token);

    // A second grant, revoked by its client.
    const second = await flows.start();
    const code2 = codeFrom(await signInAndApprove(ALICE)(second.landed as BrowserPage));
    secrets.add(code2);
    const tokens2 = await flows.exchange({ clientId: second.clientId, verifier: second.verifier, code: code2 });
    secrets.add(tokens2.body['access_token']!).add(tokens2.body['refresh_token']!);
    const revoked = await fetch(`${gateway.baseUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens2.body['refresh_token']!, client_id: second.clientId }),
    });
    expect(revoked.status).toBe(200);
    // A client that does not exist, at the token endpoint.
    expect((await flows.tokenRequest({ grant_type: 'refresh_token', client_id: 'no-such-client', refresh_token: 'ghr_nothing' })).status).toBe(401);

    const signIns = await records(orgs.acme, 'auth.sign_in');
    expect(signIns.find((row) => row.outcome === 'failure')).toMatchObject({
      actor: { type: 'user', name: ALICE.email, ip: expect.stringContaining('127.0.0.1') },
      data: { method: 'password', reason: 'wrong_email_or_password' },
    });
    expect(signIns.filter((row) => row.outcome === 'success').length).toBeGreaterThanOrEqual(1);
    const unknown = await recordOf(DEPLOYMENT_ORGANIZATION_ID, 'auth.sign_in', (row) => row.actor.name === 'nobody@nowhere.test');
    expect(unknown).toMatchObject({ outcome: 'failure', actor: { id: null }, data: { method: 'password' } });

    const client = { type: 'oauth_client', id: flow.clientId, ip: expect.stringContaining('127.0.0.1') };
    const tokenIssued = (await records(orgs.acme, 'auth.token.issued')).find((row) => row.actor.id === flow.clientId);
    expect(tokenIssued).toMatchObject({ outcome: 'success', actor: client, target: { type: 'oauth_grant' }, data: { grantType: 'authorization_code', prefix: issued.body['access_token']!.slice(0, 10) } });
    expect((await records(orgs.acme, 'auth.token.refreshed')).find((row) => row.actor.id === flow.clientId)).toMatchObject({
      outcome: 'success',
      target: tokenIssued!.target!,
    });
    expect((await records(orgs.acme, 'auth.failed')).find((row) => row.actor.id === flow.clientId)).toMatchObject({
      outcome: 'failure',
      target: tokenIssued!.target!,
      data: { reason: 'invalid_grant', refreshTokenReused: true, grantRevoked: true },
    });
    expect((await records(orgs.acme, 'auth.token.revoked')).find((row) => row.actor.id === second.clientId)).toMatchObject({
      outcome: 'success',
      data: { tokenKind: 'refresh', grantRevoked: true },
    });
    expect((await records(DEPLOYMENT_ORGANIZATION_ID, 'auth.failed')).find((row) => row.actor.id === 'no-such-client')).toMatchObject({
      data: { reason: 'invalid_client', endpoint: 'token' },
    });
  });

  it('records failed bearer authentication: an unknown token in the deployment chain, a revoked key in its organization', async () => {
    const unknownToken = 'ghk_this_key_does_not_exist_000000000';
    secrets.add(unknownToken);
    expect((await fetch(gateway.mcpUrl, { method: 'POST', headers: { Authorization: `Bearer ${unknownToken}`, 'User-Agent': USER_AGENT } })).status).toBe(401);
    const deployment = await recordOf(DEPLOYMENT_ORGANIZATION_ID, 'auth.failed', (row) => row.data['method'] === 'bearer' && row.actor.userAgent === USER_AGENT);
    expect(deployment).toMatchObject({ outcome: 'failure', actor: { type: 'api_key', id: null, ip: expect.stringContaining('127.0.0.1') }, target: { path: '/mcp' }, data: { reason: 'unknown' } });

    const key = await apiAs(KEYS.admin, 'POST', '/api/v1/api-keys', { name: 'soon-revoked', role: 'member' });
    secrets.add(key.body.secret!);
    await apiAs(KEYS.admin, 'DELETE', `/api/v1/api-keys/${key.body.id}`);
    expect((await apiAs(key.body.secret!, 'GET', '/api/v1/connections')).status).toBe(401);
    const revoked = await recordOf(orgs.acme, 'auth.failed', (row) => row.actor.id === key.body.id);
    expect(revoked).toMatchObject({ actor: { type: 'api_key', name: 'soon-revoked', userAgent: USER_AGENT }, target: { path: '/api/v1/connections' }, data: { reason: 'revoked', prefix: key.body['prefix'] } });

    // The deployment chain is a chain like any other.
    expect(await gateway.app.get(AuditVerifier).verify(DEPLOYMENT_ORGANIZATION_ID, { chainFirst: true })).toMatchObject({ ok: true });
  });

  it('records failed bearer authentications from one address up to a quota a minute, the first past it marked throttled', async () => {
    // From an address of its own (any 127.x reaches the gateway), so the quota is this test's alone.
    const from = '127.0.0.77';
    const send = (method: string, path: string, token: string) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(path, gateway.baseUrl);
        const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method, localAddress: from, headers: { Authorization: `Bearer ${token}` } });
        req.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    const fromThere = `SELECT * FROM audit_records WHERE kind = 'auth.failed' AND actor->>'ip' LIKE '%${from}' ORDER BY id`;
    const quota = RATE_LIMITS['bearer-failure'][0]!.points;
    const statuses: number[] = [];
    for (let i = 0; i < quota + 30; i++) statuses.push(await send('POST', '/mcp', `ghk_flood_${String(i).padStart(30, '0')}`));
    // Every request is refused as usual; only the records stop.
    expect(new Set(statuses)).toEqual(new Set([401]));
    const rows = await query<AuditRow>(gateway.databaseUrl, fromThere);
    expect(rows).toHaveLength(quota + 1);
    expect(rows.slice(0, quota).every((row) => row.data['throttled'] === undefined)).toBe(true);
    expect(rows[quota]).toMatchObject({ organization_id: DEPLOYMENT_ORGANIZATION_ID, data: { reason: 'unknown', throttled: true, quotaPerMinute: quota } });
    const metrics = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
    expect(Number(/gatehouse_auth_failures_unrecorded_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(29);
    // A valid credential from the same address still works.
    expect(await send('GET', '/api/v1/connections', KEYS.admin)).toBe(200);
  });

  it('records approvals requested, approved, denied and expired', async () => {
    const { client: agent } = await connect(KEYS.agent);
    const requestIdOf = (text: string) => /Request ([0-9a-f-]{36}) sent to/.exec(text)?.[1] ?? '';
    const first = requestIdOf(textOf(await agent.callTool({ name: 'tools_write_note', arguments: { text: 'one' } })));
    const second = requestIdOf(textOf(await agent.callTool({ name: 'tools_write_note', arguments: { text: 'two' } })));
    const third = requestIdOf(textOf(await agent.callTool({ name: 'tools_slow', arguments: { ms: 1 } })));
    expect((await api(KEYS.admin, 'POST', `/api/v1/approvals/${first}/approve`, {})).status).toBe(200);
    expect((await api(KEYS.admin, 'POST', `/api/v1/approvals/${second}/deny`, { reason: 'not today' })).status).toBe(200);

    const requested = await records(orgs.acme, 'approval.requested');
    expect(requested.find((row) => row.target?.['id'] === first)).toMatchObject({
      outcome: 'pending',
      actor: { type: 'api_key', name: 'agent', userAgent: USER_AGENT },
      target: { type: 'approval_request', tool: 'tools_write_note' },
      data: { ruleName: 'notes-need-approval', requiredApprovals: 1 },
    });
    expect(await records(orgs.acme, 'approval.approved')).toEqual([
      expect.objectContaining({ outcome: 'approved', actor: expect.objectContaining({ name: 'admin' }), target: expect.objectContaining({ id: first }), data: expect.objectContaining({ status: 'approved' }) }),
    ]);
    expect(await records(orgs.acme, 'approval.denied')).toEqual([
      expect.objectContaining({ outcome: 'denied', target: expect.objectContaining({ id: second }), data: expect.objectContaining({ reason: 'not today' }) }),
    ]);
    expect(await records(orgs.acme, 'admin.approval.approved')).toEqual([expect.objectContaining({ outcome: 'success', target: expect.objectContaining({ id: first }) })]);
    const expired = await recordOf(orgs.acme, 'approval.expired', (row) => row.target?.['id'] === third);
    expect(expired).toMatchObject({ outcome: 'expired', actor: { type: 'system', name: 'approval-expiry' } });
  });

  // Runs last, over everything the suite recorded.
  it('never records a secret: no key secret, password, authorization code, access or refresh token', async () => {
    const rows = await query<{ row: string }>(gateway.databaseUrl, 'SELECT audit_records::text AS row FROM audit_records');
    expect(rows.length).toBeGreaterThan(20);
    const text = rows.map((row) => row.row).join('\n');
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
