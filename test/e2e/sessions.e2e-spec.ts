import { ChildProcess, spawn } from 'node:child_process';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { connectionHealth } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { childProcesses, FIXTURE_SERVER, freePort } from '../support/servers';
import { waitFor } from '../support/wait';

// Gateways start real servers on 2 shared cores: hooks and tests get minutes, not jest's 5 s default.
const SLOW = 180_000;
const ACME_KEY = 'ghk_test_sessions_acme_admin_key_0001';
const ACME_OTHER_KEY = 'ghk_test_sessions_acme_other_key_0002';
// An extra argument the fixture ignores, so this connection's child process can be told apart.
const SHARED_MARKER = 'gatehouse-sessions-shared-stdio';

interface FixtureOnPort {
  child: ChildProcess;
  stop(): Promise<void>;
}

// startFixtureHttp picks its own port; a server restarted "in place" must come back on the same one.
async function startFixtureOnPort(port: number): Promise<FixtureOnPort> {
  const child = spawn(process.execPath, [FIXTURE_SERVER, 'http'], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  await waitFor(`the fixture server on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`fixture server exited with ${child.exitCode}`);
    const response = await fetch(`http://127.0.0.1:${port}/mcp`, { headers: { Accept: 'text/event-stream' } }).catch(() => null);
    await response?.body?.cancel();
    return response !== null;
  });
  return {
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw-http', version: '1.0.0' } },
};

interface Health {
  id: string;
  name: string;
  pid: number | null;
  inFlight: number;
}

describe('sessions, downstream and upstream', () => {
  let port: number;
  let fixture: FixtureOnPort | undefined;
  let gateway: TestGateway;
  const clients: Client[] = [];

  const headers = (extra: Record<string, string> = {}) => ({
    Authorization: `Bearer ${ACME_KEY}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    ...extra,
  });

  const post = (body: unknown, extra: Record<string, string> = {}) =>
    fetch(gateway.mcpUrl, { method: 'POST', headers: headers(extra), body: JSON.stringify(body) });

  /** A raw initialize + initialized handshake; returns the session id. */
  async function openSession(): Promise<string> {
    const response = await post(INITIALIZE);
    expect(response.status).toBe(200);
    const sessionId = response.headers.get('mcp-session-id');
    expect(sessionId).toBeTruthy();
    expect(await response.text()).toContain('"protocolVersion"');
    const initialized = await post(
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { 'Mcp-Session-Id': sessionId!, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION },
    );
    expect(initialized.status).toBe(202);
    return sessionId!;
  }

  const health = (connection: string) => connectionHealth<Health>(gateway.baseUrl, ACME_KEY, connection);


  beforeAll(async () => {
    port = await freePort();
    fixture = await startFixtureOnPort(port);
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_KEY }
      - { name: other, role: member, secretEnv: ACME_OTHER_KEY }
    connections:
      - { name: remote, transport: http, url: "http://127.0.0.1:${port}/mcp" }
      - { name: shared, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE_SERVER)}, stdio, ${SHARED_MARKER}] }
`,
      vars: { ACME_KEY, ACME_OTHER_KEY },
    });
    const client = await connectClient(gateway.mcpUrl, ACME_KEY);
    clients.push(client);
    await waitFor('both connections to list their tools', async () => {
      const names = (await listAllTools(client)).map((tool) => tool.name);
      return names.includes('remote_echo') && names.includes('shared_slow');
    }, 30_000);
  }, SLOW);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
    await fixture?.stop();
  }, SLOW);

  it('re-initializes an expired downstream HTTP session without the client noticing', async () => {
    const client = clients[0]!;
    expect(textOf(await client.callTool({ name: 'remote_echo', arguments: { text: 'before' } }))).toBe('echo: before');
    expect(textOf(await client.callTool({ name: 'remote_count', arguments: {} }))).toBe('1');

    // A new server on the same address knows nothing of the gateway's session and answers 404 to it.
    await fixture!.stop();
    fixture = await startFixtureOnPort(port);

    const after = await client.callTool({ name: 'remote_echo', arguments: { text: 'after' } });
    expect(after.isError).toBeFalsy();
    expect(textOf(after)).toBe('echo: after');
    // A fresh counter proves the call reached the new server, not a leftover of the old one.
    expect(textOf(await client.callTool({ name: 'remote_count', arguments: {} }))).toBe('1');
    expect((await health('remote')).pid).toBeNull();
  }, SLOW);

  it('ends an upstream session on DELETE and refuses requests outside the protocol', async () => {
    const sessionId = await openSession();
    const session = { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION };
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

    const listed = await post(list, session);
    expect(listed.status).toBe(200);
    expect(await listed.text()).toContain('remote_echo');

    const unsupported = await post(list, { ...session, 'MCP-Protocol-Version': '1999-01-01' });
    expect(unsupported.status).toBe(400);
    expect(await unsupported.json()).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });

    const deleted = await fetch(gateway.mcpUrl, { method: 'DELETE', headers: headers(session) });
    expect(deleted.status).toBe(200);
    const reused = await post(list, session);
    expect(reused.status).toBe(404);
    expect(await reused.json()).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });

    const sessionless = await post(list);
    expect(sessionless.status).toBe(400);
    expect(await sessionless.json()).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.any(String) } });

    const foreign = await post(INITIALIZE, { Origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('mcp-session-id')).toBeNull();
    expect(await foreign.json()).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
    // Without an Origin header (a server-side client) the same request opens a session.
    const again = await openSession();
    expect(again).not.toBe(sessionId);
    await fetch(gateway.mcpUrl, { method: 'DELETE', headers: headers({ 'Mcp-Session-Id': again, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION }) });
  }, SLOW);

  it('answers tools/call with one JSON object, or with an event stream once the call reports progress', async () => {
    const sessionId = await openSession();
    const session = { 'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION };
    const call = (id: number | string, name: string, args: Record<string, unknown>, meta?: Record<string, unknown>) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
    });

    const plain = await post(call(7, 'remote_echo', { text: 'json' }), session);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toContain('application/json');
    expect(plain.headers.get('mcp-session-id')).toBe(sessionId);
    expect(await plain.json()).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: { content: [{ type: 'text', text: 'echo: json' }], structuredContent: { text: 'json', at: 'fixture' } },
    });

    for (const connection of ['remote', 'shared']) {
      const streamed = await post(call(`s-${connection}`, `${connection}_slow`, { ms: 50 }, { progressToken: 'tok' }), session);
      expect(streamed.status).toBe(200);
      expect(streamed.headers.get('content-type')).toContain('text/event-stream');
      const events = (await streamed.text())
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
      expect(events).toEqual([
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok', progress: 0, total: 1, message: 'sleeping' } },
        { jsonrpc: '2.0', id: `s-${connection}`, result: { content: [{ type: 'text', text: 'slept 50' }] } },
      ]);
    }

    // Batches, and requests the SDK transport refuses, still get the SDK's answers.
    const batch = await post([call(8, 'remote_echo', { text: 'batched' })], session);
    expect(batch.status).toBe(200);
    expect(await batch.text()).toContain('echo: batched');
    const nameless = await post({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { arguments: {} } }, session);
    expect(await nameless.json()).toEqual({
      jsonrpc: '2.0',
      id: 9,
      error: { code: -32602, message: expect.stringContaining('"name": string') },
    });
    const jsonOnly = await post(call(10, 'remote_echo', { text: 'x' }), { ...session, Accept: 'application/json' });
    expect(jsonOnly.status).toBe(406);
    const oldVersion = await post(call(11, 'remote_echo', { text: 'x' }), { ...session, 'MCP-Protocol-Version': '1999-01-01' });
    expect(oldVersion.status).toBe(400);

    await fetch(gateway.mcpUrl, { method: 'DELETE', headers: headers(session) });
  }, SLOW);

  it('shares one downstream stdio process among every client of the organization', async () => {
    const before = childProcesses(SHARED_MARKER);
    expect(before).toHaveLength(1);
    const five = await Promise.all([ACME_KEY, ACME_OTHER_KEY, ACME_KEY, ACME_OTHER_KEY, ACME_KEY].map((key) => connectClient(gateway.mcpUrl, key)));
    clients.push(...five);

    const slow = five.map((client) => client.callTool({ name: 'shared_slow', arguments: { ms: 1_500 } }));
    await waitFor('five calls in flight on the shared connection', async () => (await health('shared')).inFlight === 5);
    expect(childProcesses(SHARED_MARKER)).toEqual(before);
    expect((await health('shared')).pid).toBe(before[0]);
    expect((await Promise.all(slow)).map(textOf)).toEqual(Array(5).fill('slept 1500'));

    // One process means one counter: concurrent calls from five sessions see 1..5 between them.
    const counts = await Promise.all(five.map((client) => client.callTool({ name: 'shared_count', arguments: {} })));
    expect(counts.map((result) => Number(textOf(result))).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(childProcesses(SHARED_MARKER)).toEqual(before);
  }, SLOW);
});
