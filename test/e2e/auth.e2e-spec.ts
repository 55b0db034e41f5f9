import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { apiRequest } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { FIXTURE_SERVER, fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

const ACME_ADMIN = 'ghk_test_auth_acme_admin_key_0001';
const ACME_MEMBER = 'ghk_test_auth_acme_member_key_0002';
const ACME_READER = 'ghk_test_auth_acme_reader_key_0003';
const GLOBEX_ADMIN = 'ghk_test_auth_globex_admin_key_0004';

// A tools/list request as raw JSON-RPC, for what the SDK client hides: status codes and headers.
function postMcp(gateway: TestGateway, options: { token?: string; sessionId?: string; body?: unknown }): Promise<Response> {
  return fetch(gateway.mcpUrl, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.sessionId ? { 'Mcp-Session-Id': options.sessionId } : {}),
    },
    body: JSON.stringify(options.body ?? { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
}

function sessionIdOf(client: Client): string {
  const sessionId = (client.transport as StreamableHTTPClientTransport | undefined)?.sessionId;
  if (!sessionId) throw new Error('The client has no MCP session id');
  return sessionId;
}

// Longer than the root 60 s: this suite waits on spawned processes and reconnects on a small, shared machine.
jest.setTimeout(120_000);

const names = async (client: Client) => (await listAllTools(client)).map((tool) => tool.name);

describe('authentication, authorization and tenant isolation on /mcp', () => {
  let gateway: TestGateway;
  const clients: Client[] = [];
  const open = async (token: string) => {
    const client = await connectClient(gateway.mcpUrl, token);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_ADMIN }
      - { name: member, role: member, access: read_write, secretEnv: ACME_MEMBER }
      - { name: reader, role: admin, access: read_only, secretEnv: ACME_READER }
    connections:
      - ${fixtureStdioYaml('fixture')}
  - slug: globex
    name: Globex
    apiKeys:
      - { name: admin, role: admin, secretEnv: GLOBEX_ADMIN }
    connections:
      - ${fixtureStdioYaml('notes')}
`,
      vars: { ACME_ADMIN, ACME_MEMBER, ACME_READER, GLOBEX_ADMIN },
    });
    const acme = await open(ACME_ADMIN);
    const globex = await open(GLOBEX_ADMIN);
    await waitFor('both organizations to list their fixture tools', async () => {
      return (await names(acme)).includes('fixture_echo') && (await names(globex)).includes('notes_echo');
    }, 30_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
  });

  it('answers a request without a token with 401 and a Bearer challenge', async () => {
    const response = await postMcp(gateway, {});
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.stringMatching(/bearer/i) } });

    const client = new Client({ name: 'anonymous', version: '1.0.0' });
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(gateway.mcpUrl)))).rejects.toMatchObject({ code: 401 });
  });

  it('answers a wrong key with 401 and a Bearer challenge, and the SDK client cannot connect', async () => {
    const response = await postMcp(gateway, { token: 'ghk_this_key_does_not_exist_000000' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    await expect(connectClient(gateway.mcpUrl, 'ghk_this_key_does_not_exist_000000')).rejects.toMatchObject({ code: 401 });
  });

  it('refuses a key revoked through the API on the very next request, including on a session it opened before', async () => {
    const created = await apiRequest<{ id: string; secret: string }>(gateway.baseUrl, ACME_ADMIN, 'POST', '/api/v1/api-keys', { name: 'soon-revoked', role: 'member' });
    expect(created.status).toBe(201);
    const client = await open(created.body.secret);
    expect(await names(client)).toContain('fixture_echo');
    const sessionId = sessionIdOf(client);
    const beforeRevocation = await postMcp(gateway, { token: created.body.secret, sessionId });
    expect(beforeRevocation.status).toBe(200);
    await beforeRevocation.text();

    const revoked = await apiRequest<{ revokedAt: string | null }>(gateway.baseUrl, ACME_ADMIN, 'DELETE', `/api/v1/api-keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));

    await expect(client.listTools()).rejects.toMatchObject({ code: 401 });
    const onOldSession = await postMcp(gateway, { token: created.body.secret, sessionId });
    expect(onOldSession.status).toBe(401);
    expect(onOldSession.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const callOnOldSession = await postMcp(gateway, {
      token: created.body.secret,
      sessionId,
      body: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fixture_echo', arguments: { text: 'after revocation' } } },
    });
    expect(callOnOldSession.status).toBe(401);
    await expect(connectClient(gateway.mcpUrl, created.body.secret)).rejects.toMatchObject({ code: 401 });
  });

  it('shows a read-only key only read-only tools, and no gatehouse_create_connection', async () => {
    const reader = await open(ACME_READER);
    const tools = await listAllTools(reader);
    const listed = tools.map((tool) => tool.name);
    for (const tool of tools) expect({ name: tool.name, readOnlyHint: tool.annotations?.readOnlyHint }).toEqual({ name: tool.name, readOnlyHint: true });
    expect(listed).toEqual(
      expect.arrayContaining(['fixture_echo', 'fixture_slow', 'fixture_count', 'gatehouse_list_connections', 'gatehouse_get_connection_health']),
    );
    for (const hidden of ['fixture_write_note', 'fixture_crash', 'fixture_add_tool', 'fixture_fail', 'gatehouse_create_connection']) {
      expect(listed).not.toContain(hidden);
    }
  });

  it('refuses a non-read-only tool to a read-only key with a permission-denied result, and runs a read-only one', async () => {
    const reader = await open(ACME_READER);
    const denied = await reader.callTool({ name: 'fixture_write_note', arguments: { text: 'should not be written' } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toMatch(/^Permission denied/);
    const allowed = await reader.callTool({ name: 'fixture_echo', arguments: { text: 'read only is fine' } });
    expect(allowed.isError).toBeFalsy();
    expect(textOf(allowed)).toBe('echo: read only is fine');
    const create = await reader.callTool({
      name: 'gatehouse_create_connection',
      arguments: { name: 'from-reader', transport: 'stdio', command: process.execPath, args: [FIXTURE_SERVER, 'stdio'] },
    });
    expect(create.isError).toBe(true);
    expect(textOf(create)).toMatch(/^Permission denied/);
  });

  it("never shows one organization's tools to another", async () => {
    const globex = await open(GLOBEX_ADMIN);
    const listed = await names(globex);
    expect(listed).toContain('notes_echo');
    expect(listed.filter((name) => name.startsWith('fixture_'))).toEqual([]);
    const acme = await open(ACME_ADMIN);
    const acmeListed = await names(acme);
    expect(acmeListed).toContain('fixture_echo');
    expect(acmeListed.filter((name) => name.startsWith('notes_'))).toEqual([]);
  });

  it("answers 404 when another organization's valid key presents a session id", async () => {
    const acme = await open(ACME_ADMIN);
    const sessionId = sessionIdOf(acme);
    const own = await postMcp(gateway, { token: ACME_ADMIN, sessionId });
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('fixture_echo');

    const stolen = await postMcp(gateway, { token: GLOBEX_ADMIN, sessionId });
    expect(stolen.status).toBe(404);
    const body = await stolen.text();
    expect(body).not.toContain('fixture_echo');
    expect(JSON.parse(body)).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(/Session not found/) } });

    const stolenCall = await postMcp(gateway, {
      token: GLOBEX_ADMIN,
      sessionId,
      body: { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'fixture_echo', arguments: { text: 'not yours' } } },
    });
    expect(stolenCall.status).toBe(404);
    expect(await stolenCall.json()).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(/Session not found/) } });
  });

  it("answers 404 to another organization's key for the first's connections and keys on the admin API", async () => {
    const acmeConnections = await apiRequest<{ id: string; name: string }[]>(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/connections');
    const fixture = acmeConnections.body.find((connection) => connection.name === 'fixture')!;
    const acmeKeys = await apiRequest<{ id: string; name: string }[]>(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/api-keys');
    const reader = acmeKeys.body.find((key) => key.name === 'reader')!;

    const globexConnections = await apiRequest<{ name: string }[]>(gateway.baseUrl, GLOBEX_ADMIN, 'GET', '/api/v1/connections');
    expect(globexConnections.body.map((connection) => connection.name)).toEqual(['notes']);
    const globexKeys = await apiRequest<{ name: string }[]>(gateway.baseUrl, GLOBEX_ADMIN, 'GET', '/api/v1/api-keys');
    expect(globexKeys.body.map((key) => key.name)).toEqual(['admin']);
    for (const [method, path] of [
      ['GET', `/api/v1/connections/${fixture.id}`],
      ['GET', `/api/v1/connections/${fixture.id}/tools`],
      ['POST', `/api/v1/connections/${fixture.id}/test`],
      ['DELETE', `/api/v1/connections/${fixture.id}`],
      ['DELETE', `/api/v1/api-keys/${reader.id}`],
    ] as const) {
      expect({ method, path, status: (await apiRequest(gateway.baseUrl, GLOBEX_ADMIN, method, path)).status }).toEqual({ method, path, status: 404 });
    }
    const reader2 = await open(ACME_READER);
    expect(await names(reader2)).toContain('fixture_echo');
  });

  it("gives another organization an unknown-tool error for a tool name of the first", async () => {
    const globex = await open(GLOBEX_ADMIN);
    await expect(globex.callTool({ name: 'fixture_echo', arguments: { text: 'cross-tenant' } })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('Unknown tool "fixture_echo"'),
    });
  });

  it('neither shows nor runs gatehouse_create_connection for a member key', async () => {
    const member = await open(ACME_MEMBER);
    const listed = await names(member);
    expect(listed).toEqual(expect.arrayContaining(['gatehouse_list_connections', 'fixture_write_note']));
    expect(listed).not.toContain('gatehouse_create_connection');
    const result = await member.callTool({
      name: 'gatehouse_create_connection',
      arguments: { name: 'from-member', transport: 'stdio', command: process.execPath, args: [FIXTURE_SERVER, 'stdio'] },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Permission denied/);
    const connections = await apiRequest<{ name: string }[]>(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/connections');
    expect(connections.body.map((connection) => connection.name)).not.toContain('from-member');
  });

  it('lets an admin key create a connection with gatehouse_create_connection, whose tools then appear', async () => {
    const admin = await open(ACME_ADMIN);
    expect(await names(admin)).toContain('gatehouse_create_connection');
    const result = await admin.callTool({
      name: 'gatehouse_create_connection',
      arguments: { name: 'created', transport: 'stdio', command: process.execPath, args: [FIXTURE_SERVER, 'stdio'] },
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ connection: { name: 'created', transport: 'stdio', configManaged: false } });
    await waitFor('the new connection to list its tools', async () => (await names(admin)).includes('created_echo'), 30_000);
    const echoed = await admin.callTool({ name: 'created_echo', arguments: { text: 'new connection' } });
    expect(textOf(echoed)).toBe('echo: new connection');
    const globex = await open(GLOBEX_ADMIN);
    expect((await names(globex)).filter((name) => name.startsWith('created_'))).toEqual([]);
  });
});
