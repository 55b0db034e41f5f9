import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { apiRequest } from '../support/admin-api';
import { TestBrowser } from '../support/browser';
import { query } from '../support/database';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { connectWithOAuth, TestOAuthProvider } from '../support/oauth-client';
import { CALLBACK, signInAndApprove } from '../support/oauth-flow';
import { rawRequest } from '../support/raw-http';
import { INITIALIZE, postMcp, RawSession } from '../support/raw-mcp';
import { fixtureStdioYaml } from '../support/servers';

jest.setTimeout(120_000);

const ADMIN = 'ghk_test_endpoints_admin_key_00001';
const MEMBER = 'ghk_test_endpoints_member_key_0001';
const AUDITOR = 'ghk_test_endpoints_auditor_key_001';
const OTHER = 'ghk_test_endpoints_other_admin_0001';
const ALICE = { email: 'alice@endpoints.test', password: 'alice-password-123' };

interface EndpointBody {
  name: string;
  url: string;
  selection: Record<string, unknown>;
  unprefixed: boolean;
  configManaged: boolean;
}
interface KeyBody {
  id: string;
  secret: string;
  endpointId: string | null;
  expiresAt: string | null;
}

describe('endpoints: narrower doors at /mcp/<endpoint>', () => {
  let gateway: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-endpoints-'));
  const acmeMarker = join(dir, 'acme.log');
  const otherMarker = join(dir, 'other.log');
  const marks = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  const clients: Client[] = [];
  const connect = async (path: string, token: string) => {
    const client = await connectClient(`${gateway.baseUrl}${path}`, token);
    clients.push(client);
    return client;
  };
  const names = async (client: Client) => (await listAllTools(client)).map((tool) => tool.name).sort();
  const endpointKey = async (endpoint: string, body: Record<string, unknown> = {}) => {
    const reply = await apiRequest<KeyBody>(gateway.baseUrl, ADMIN, 'POST', `/api/v1/endpoints/${endpoint}/keys`, { name: `${endpoint} key`, ...body });
    expect(reply.status).toBe(201);
    return reply.body;
  };

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_ADMIN }
      - { name: member, role: member, secretEnv: ACME_MEMBER }
      - { name: auditor, role: auditor, secretEnv: ACME_AUDITOR }
    connections:
      - ${fixtureStdioYaml('fixture', { FIXTURE_MARKER: acmeMarker }, 'tags: [demo]')}
      - ${fixtureStdioYaml('spare')}
    policies:
      - { name: no-notes, effect: deny, match: { tools: ["fixture_write_note"] } }
    endpoints:
      - { name: fixture, selection: { connections: [fixture] }, unprefixed: true }
      - { name: readers, selection: { tags: [demo], classes: [read] } }
      - { name: echoes, selection: { tools: ["*_echo"] } }
      - { name: admin-tools, selection: { connections: [spare], tools: ["spare_count", "gatehouse_list_*"] } }
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER_ADMIN }
    connections:
      - ${fixtureStdioYaml('fixture', { FIXTURE_MARKER: otherMarker })}
    endpoints:
      - { name: fixture, selection: { connections: [fixture] }, unprefixed: true }
`,
      vars: { ACME_ADMIN: ADMIN, ACME_MEMBER: MEMBER, ACME_AUDITOR: AUDITOR, OTHER_ADMIN: OTHER, ALICE_PASSWORD: ALICE.password },
    });
    await waitUntilConnected(gateway, ['fixture', 'spare']);
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
  });

  it('serves one connection unprefixed: its downstream names exactly, calls audited with the canonical name and the endpoint, prefixed policies applying', async () => {
    const all = await listAllTools(await connect('/mcp', ADMIN));
    const fixtureNames = all.filter((tool) => tool.name.startsWith('fixture_')).map((tool) => tool.name.slice('fixture_'.length));
    const client = await connect('/mcp/fixture', ADMIN);
    // The policy written for fixture_write_note hides write_note here too; nothing of Gatehouse's own, nothing of spare.
    expect(await names(client)).toEqual(fixtureNames.sort());
    expect(fixtureNames).not.toContain('write_note');
    expect(client.getInstructions()).toMatch(/one MCP server's tools here under their own names/);

    const echoed = await client.callTool({ name: 'echo', arguments: { text: 'through the door' } });
    expect(textOf(echoed)).toContain('through the door');
    const denied = await client.callTool({ name: 'write_note', arguments: { text: 'x' } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toMatch(/Permission denied: .*policy rule "no-notes"/);
    expect(marks(acmeMarker)).not.toContain('call:write_note');

    const records = await query<{ target: { tool: string; downstreamTool: string }; data: { endpoint?: string } }>(
      gateway.databaseUrl,
      `SELECT target, data FROM audit_records WHERE kind = 'tools.call.request' AND data->>'endpoint' = 'fixture' ORDER BY id`,
    );
    expect(records.map((record) => record.target.tool)).toEqual(['fixture_echo', 'fixture_write_note']);
    expect(records[0]!.target.downstreamTool).toBe('echo');
  });

  it('serves a prefixed selection by tag and class, and by glob, exactly; /mcp is unchanged', async () => {
    const all = await listAllTools(await connect('/mcp', ADMIN));
    const readFixture = all.filter((tool) => tool.name.startsWith('fixture_') && tool.annotations?.readOnlyHint === true).map((tool) => tool.name);
    expect(readFixture.length).toBeGreaterThan(1);
    expect(await names(await connect('/mcp/readers', ADMIN))).toEqual(readFixture.sort());
    expect(await names(await connect('/mcp/echoes', ADMIN))).toEqual(['fixture_echo', 'spare_echo']);
    // Gatehouse's own tools come through a door only when a gatehouse_ glob names them.
    const adminTools = await names(await connect('/mcp/admin-tools', ADMIN));
    expect(adminTools).toContain('spare_count');
    expect(adminTools).toContain('gatehouse_list_connections');
    expect(adminTools.every((name) => name === 'spare_count' || name.startsWith('gatehouse_list_'))).toBe(true);
    const everything = all.map((tool) => tool.name);
    for (const name of ['fixture_echo', 'spare_echo', 'spare_write_note', 'gatehouse_list_connections']) expect(everything).toContain(name);
  });

  it('answers a tool outside the selection as unknown, without calling the downstream', async () => {
    const before = marks(acmeMarker).filter((line) => line === 'call:count').length;
    const echoes = await connect('/mcp/echoes', ADMIN);
    await expect(echoes.callTool({ name: 'fixture_count', arguments: {} })).rejects.toThrow(/Unknown tool "fixture_count"/);
    await expect(echoes.callTool({ name: 'gatehouse_list_connections', arguments: {} })).rejects.toThrow(/Unknown tool/);
    const unprefixed = await connect('/mcp/fixture', ADMIN);
    // The canonical name is not a name at an unprefixed door, nor is another connection's tool.
    await expect(unprefixed.callTool({ name: 'fixture_count', arguments: {} })).rejects.toThrow(/Unknown tool/);
    await expect(unprefixed.callTool({ name: 'gatehouse_list_connections', arguments: {} })).rejects.toThrow(/Unknown tool/);
    // The fast path (one POSTed tools/call on an established session) answers the same.
    const session = await RawSession.open(`${gateway.baseUrl}/mcp/echoes`, ADMIN);
    const reply = (await (await session.call(7, 'fixture_count', {})).json()) as { error?: { code: number; message: string } };
    expect(reply.error).toMatchObject({ code: -32602, message: expect.stringMatching(/Unknown tool "fixture_count"/) });
    await session.close();
    expect(marks(acmeMarker).filter((line) => line === 'call:count').length).toBe(before);
  });

  it('binds a session to the door it was opened at: its id elsewhere is unknown', async () => {
    const session = await RawSession.open(`${gateway.baseUrl}/mcp/fixture`, ADMIN);
    const headers = { 'Mcp-Session-Id': session.id, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION };
    for (const door of ['/mcp', '/mcp/echoes']) {
      const listed = await postMcp(`${gateway.baseUrl}${door}`, ADMIN, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, headers);
      expect(listed.status).toBe(404);
      expect(((await listed.json()) as { error: { message: string } }).error.message).toMatch(/Session not found/);
      const called = await postMcp(`${gateway.baseUrl}${door}`, ADMIN, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fixture_echo', arguments: { text: 'x' } } }, headers);
      expect(called.status).toBe(404);
    }
    const here = await session.call(3, 'echo', { text: 'still here' });
    expect(here.status).toBe(200);
    await session.close();
  });

  it('refuses an endpoint key at /mcp, at another endpoint and on the admin API; serves it at its own endpoint', async () => {
    const key = await endpointKey('fixture');
    expect(key.endpointId).not.toBeNull();
    expect(await names(await connect('/mcp/fixture', key.secret))).toContain('echo');
    for (const door of ['/mcp', '/mcp/echoes']) {
      const reply = await postMcp(`${gateway.baseUrl}${door}`, key.secret, INITIALIZE);
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toMatch(/error="invalid_token".*endpoint 'fixture' only/);
    }
    const api = await apiRequest<{ detail: string }>(gateway.baseUrl, key.secret, 'GET', '/api/v1/connections');
    expect(api.status).toBe(401);
    expect(api.body.detail).toMatch(/MCP endpoint "fixture" only/);
    const failures = await query<{ reason: string }>(gateway.databaseUrl, `SELECT data->>'reason' AS reason FROM audit_records WHERE kind = 'auth.failed' AND actor->>'id' = $1`, [key.id]);
    expect(failures.map((failure) => failure.reason)).toEqual(['wrong_audience', 'wrong_audience', 'wrong_audience']);
  });

  it('refuses an expired endpoint key with 401 invalid_token, and a key created already expired with 400', async () => {
    const past = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/endpoints/fixture/keys', { name: 'late', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.detail).toMatch(/expiresAt/);
    const key = await endpointKey('fixture', { expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(key.expiresAt).not.toBeNull();
    await query(gateway.databaseUrl, `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [key.id]);
    const reply = await postMcp(`${gateway.baseUrl}/mcp/fixture`, key.secret, INITIALIZE);
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toMatch(/error="invalid_token", error_description="The API key has expired"/);
  });

  it("never lets another organization's admin read, change, delete or mint keys for an endpoint through the API", async () => {
    const listed = await apiRequest<EndpointBody[]>(gateway.baseUrl, OTHER, 'GET', '/api/v1/endpoints');
    expect(listed.status).toBe(200);
    expect(listed.body.map((endpoint) => endpoint.name)).not.toContain('echoes');
    expect((await apiRequest(gateway.baseUrl, OTHER, 'GET', '/api/v1/endpoints/echoes')).status).toBe(404);
    expect((await apiRequest(gateway.baseUrl, OTHER, 'PUT', '/api/v1/endpoints/echoes', { name: 'echoes', selection: { tools: ['*'] } })).status).toBe(404);
    expect((await apiRequest(gateway.baseUrl, OTHER, 'DELETE', '/api/v1/endpoints/echoes')).status).toBe(404);
    expect((await apiRequest(gateway.baseUrl, OTHER, 'POST', '/api/v1/endpoints/echoes/keys', { name: 'stolen' })).status).toBe(404);
    // Hostile bodies: a 10 KB name, a selection nested where a list belongs.
    expect((await apiRequest(gateway.baseUrl, ADMIN, 'POST', '/api/v1/endpoints', { name: 'x'.repeat(10_000), selection: {} })).status).toBe(400);
    expect((await apiRequest(gateway.baseUrl, ADMIN, 'POST', '/api/v1/endpoints', { name: 'nested', selection: { tools: [{ a: { b: {} } }] } })).status).toBe(400);
    // Acme's endpoint is as it was.
    const mine = await apiRequest<EndpointBody>(gateway.baseUrl, ADMIN, 'GET', '/api/v1/endpoints/echoes');
    expect(mine.status).toBe(200);
    expect(mine.body.selection).toEqual({ tools: ['*_echo'] });
  });

  it('keeps organizations apart: same-named endpoints do not mix, another organization\'s endpoint is 404', async () => {
    const acmeBefore = marks(acmeMarker).filter((line) => line === 'call:count').length;
    const other = await connect('/mcp/fixture', OTHER);
    expect(await names(other)).toContain('count');
    await other.callTool({ name: 'count', arguments: {} });
    expect(marks(otherMarker)).toContain('call:count');
    expect(marks(acmeMarker).filter((line) => line === 'call:count').length).toBe(acmeBefore);
    const missing = await postMcp(`${gateway.baseUrl}/mcp/readers`, OTHER, INITIALIZE);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/No MCP endpoint "readers" in this organization/);
    // And an endpoint's keys belong to its organization: Acme's endpoint key opens nothing of Other's.
    const acmeKey = await endpointKey('fixture');
    const listed = await listAllTools(await connect('/mcp/fixture', acmeKey.secret));
    expect(listed.map((tool) => tool.name)).toContain('echo');
    const acmeCountBefore = marks(acmeMarker).filter((line) => line === 'call:count').length;
    const otherCountBefore = marks(otherMarker).filter((line) => line === 'call:count').length;
    await (await connect('/mcp/fixture', acmeKey.secret)).callTool({ name: 'count', arguments: {} });
    expect(marks(acmeMarker).filter((line) => line === 'call:count').length).toBe(acmeCountBefore + 1);
    expect(marks(otherMarker).filter((line) => line === 'call:count').length).toBe(otherCountBefore);
  });

  it('answers hostile endpoint names with a clean 404 (400 for a path that is not percent-encoding)', async () => {
    const paths: [string, number][] = [
      ['/mcp/..', 404],
      ['/mcp/%2E%2E', 404],
      ['/mcp/a%2Fb', 404],
      ['/mcp/Fixture', 404],
      [`/mcp/${'a'.repeat(10_240)}`, 404],
      ['/mcp/fixture/extra', 404],
      ['/mcp/%ZZ', 400],
    ];
    for (const [path, status] of paths) {
      const reply = await rawRequest(gateway.baseUrl, { method: 'POST', path, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE) }, 10_000);
      expect({ path: path.slice(0, 40), status: reply.status }).toEqual({ path: path.slice(0, 40), status });
      expect(JSON.parse(reply.body)).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.any(String) } });
      expect(reply.body).not.toMatch(/at \w+ \(/);
    }
  });

  it('lets admins manage endpoints through the API; members and auditors get 403; the config file\'s are read-only (409)', async () => {
    const spec = { name: 'made-by-api', selection: { connections: ['spare'], classes: ['read'] } };
    for (const token of [MEMBER, AUDITOR]) {
      expect((await apiRequest(gateway.baseUrl, token, 'POST', '/api/v1/endpoints', spec)).status).toBe(403);
      expect((await apiRequest(gateway.baseUrl, token, 'POST', '/api/v1/endpoints/fixture/keys', { name: 'x' })).status).toBe(403);
    }
    expect((await apiRequest(gateway.baseUrl, AUDITOR, 'GET', '/api/v1/endpoints')).status).toBe(403);
    const created = await apiRequest<EndpointBody>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/endpoints', spec);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'made-by-api', url: `${gateway.mcpUrl}/made-by-api`, unprefixed: false, configManaged: false });
    expect((await apiRequest(gateway.baseUrl, ADMIN, 'POST', '/api/v1/endpoints', spec)).status).toBe(409);
    const served = await names(await connect('/mcp/made-by-api', ADMIN));
    expect(served.length).toBeGreaterThan(0);
    expect(served.every((name) => name.startsWith('spare_'))).toBe(true);

    const twoConnections = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'PUT', '/api/v1/endpoints/made-by-api', { ...spec, selection: { connections: ['spare', 'fixture'] }, unprefixed: true });
    expect(twoConnections.status).toBe(400);
    expect(twoConnections.body.detail).toMatch(/unprefixed/);
    const updated = await apiRequest<EndpointBody>(gateway.baseUrl, ADMIN, 'PUT', '/api/v1/endpoints/made-by-api', { ...spec, selection: { connections: ['spare'] }, unprefixed: true });
    expect(updated.status).toBe(200);
    // In force at once: the next session there sees the downstream names.
    expect(await names(await connect('/mcp/made-by-api', ADMIN))).toContain('echo');
    const key = await endpointKey('made-by-api');
    expect((await apiRequest(gateway.baseUrl, ADMIN, 'DELETE', '/api/v1/endpoints/made-by-api')).status).toBe(204);
    expect((await postMcp(`${gateway.baseUrl}/mcp/made-by-api`, key.secret, INITIALIZE)).status).toBe(401);
    expect((await postMcp(`${gateway.baseUrl}/mcp/made-by-api`, ADMIN, INITIALIZE)).status).toBe(404);

    const fileOwned = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'PUT', '/api/v1/endpoints/fixture', { name: 'fixture', selection: { connections: ['spare'] } });
    expect(fileOwned.status).toBe(409);
    expect(fileOwned.body.detail).toMatch(/config file/);
    expect((await apiRequest(gateway.baseUrl, ADMIN, 'DELETE', '/api/v1/endpoints/fixture')).status).toBe(409);
    const listed = await apiRequest<EndpointBody[]>(gateway.baseUrl, ADMIN, 'GET', '/api/v1/endpoints');
    expect(listed.body.find((endpoint) => endpoint.name === 'fixture')).toMatchObject({ configManaged: true, unprefixed: true });
  });

  it('lets an assistant with an admin key manage endpoints through the management tools, the config file\'s read-only', async () => {
    const admin = await connect('/mcp', ADMIN);
    const created = await admin.callTool({ name: 'gatehouse_create_endpoint', arguments: { name: 'by-tool', selection: { tools: ['spare_echo'] } } });
    expect(created.isError).toBeFalsy();
    expect(textOf(created)).toContain(`${gateway.mcpUrl}/by-tool`);
    expect(await names(await connect('/mcp/by-tool', ADMIN))).toEqual(['spare_echo']);
    expect(textOf(await admin.callTool({ name: 'gatehouse_list_endpoints', arguments: {} }))).toContain('"by-tool"');
    const fileOwned = await admin.callTool({ name: 'gatehouse_update_endpoint', arguments: { name: 'fixture', selection: { connections: ['spare'] } } });
    expect(fileOwned.isError).toBe(true);
    expect(textOf(fileOwned)).toMatch(/managed by the config file/);
    const member = await connect('/mcp', MEMBER);
    const refused = await member.callTool({ name: 'gatehouse_delete_endpoint', arguments: { name: 'by-tool' } });
    expect(refused.isError).toBe(true);
    expect(textOf(await admin.callTool({ name: 'gatehouse_delete_endpoint', arguments: { name: 'by-tool' } }))).toContain('"deleted"');
  });

  it('publishes OAuth discovery for each endpoint, and points its 401 at it', async () => {
    const metadata = await apiRequest<{ resource: string; authorization_servers: string[] }>(gateway.baseUrl, null, 'GET', '/.well-known/oauth-protected-resource/mcp/echoes');
    expect(metadata.status).toBe(200);
    expect(metadata.body).toMatchObject({ resource: `${gateway.mcpUrl}/echoes`, authorization_servers: [gateway.baseUrl] });
    expect((await apiRequest(gateway.baseUrl, null, 'GET', '/.well-known/oauth-protected-resource/mcp/Bad..name')).status).toBe(404);
    const challenge = await postMcp(`${gateway.baseUrl}/mcp/echoes`, '', INITIALIZE, { Authorization: '' });
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toContain(`resource_metadata="${gateway.baseUrl}/.well-known/oauth-protected-resource/mcp/echoes"`);
  });

  it('issues OAuth tokens bound to the endpoint an SDK client added by URL: refused at /mcp and at another endpoint', async () => {
    const provider = new TestOAuthProvider({ redirectUrl: CALLBACK, clientName: 'Endpoint client' });
    const { client } = await connectWithOAuth({ mcpUrl: `${gateway.mcpUrl}/echoes`, browser: new TestBrowser(gateway.baseUrl), provider, signIn: signInAndApprove(ALICE) });
    clients.push(client);
    expect(await names(client)).toEqual(['fixture_echo', 'spare_echo']);
    const token = (await provider.tokens())!.access_token;
    for (const door of ['/mcp', '/mcp/readers']) {
      const reply = await postMcp(`${gateway.baseUrl}${door}`, token, INITIALIZE);
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toMatch(/error="invalid_token".*endpoint 'echoes' only/);
    }
    // And a token issued for /mcp does not open an endpoint.
    const whole = new TestOAuthProvider({ redirectUrl: CALLBACK, clientName: 'Whole client' });
    const wholeClient = await connectWithOAuth({ mcpUrl: gateway.mcpUrl, browser: new TestBrowser(gateway.baseUrl), provider: whole, signIn: signInAndApprove(ALICE) });
    clients.push(wholeClient.client);
    const wholeToken = (await whole.tokens())!.access_token;
    const refused = await postMcp(`${gateway.baseUrl}/mcp/echoes`, wholeToken, INITIALIZE);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/issued for \/mcp, not \/mcp\/echoes/);
  });
});
