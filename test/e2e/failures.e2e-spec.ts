import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import { createServer, Server as NetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { apiRequest } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { FIXTURE_SERVER, fixtureStdioYaml, RunningServer, startFixtureHttp } from '../support/servers';
import { waitFor } from '../support/wait';

const KEY = 'ghk_test_failures_admin_key_0001';
const MAX_BODY_BYTES = 65_536;

interface JsonRpcErrorBody {
  jsonrpc: string;
  error: { code: number; message: string };
  id: unknown;
}

interface HealthRow {
  name: string;
  status: string;
  lastError: string | null;
  restarts: number;
  toolCount: number;
}

// Lines the fixture appended to its FIXTURE_MARKER file (it creates the file on its first event).
function markerLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

// A TCP server that accepts connections and never writes a byte: an HTTP downstream that hangs.
async function startHungServer(): Promise<{ url: string; sockets: Set<Socket>; server: NetServer }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('hung server is not listening on TCP');
  return { url: `http://127.0.0.1:${address.port}/mcp`, sockets, server };
}

// Longer than the root 60 s: this suite waits on spawned processes and reconnects on a small, shared machine.
jest.setTimeout(180_000);

describe('failures: each gets a clear error and the gateway keeps serving', () => {
  let fixtureHttp: RunningServer;
  let slowHttp: RunningServer;
  let hung: Awaited<ReturnType<typeof startHungServer>>;
  let gateway: TestGateway;
  let client: Client;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-failures-'));
  const marker = join(dir, 'fixture.log');
  const slowMarker = join(dir, 'slowpoke.log');
  const slowHttpMarker = join(dir, 'slowpoke-http.log');

  // Raw POST /mcp, for what the SDK client hides: status codes and bodies of rejected requests.
  const postRaw = (body: string, sessionId?: string) =>
    fetch(gateway.mcpUrl, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${KEY}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        ...(sessionId ? { 'Mcp-Session-Id': sessionId } : {}),
      },
      body,
    });

  const health = async (): Promise<HealthRow[]> => {
    const { status, body } = await apiRequest<HealthRow[]>(gateway.baseUrl, KEY, 'GET', '/api/v1/connections/health');
    expect(status).toBe(200);
    return body;
  };
  const healthOf = async (name: string) => (await health()).find((row) => row.name === name);

  const expectServing = async () => {
    const echoed = await client.callTool({ name: 'fixture-http_echo', arguments: { text: 'still here' } });
    expect(echoed.isError).toBeFalsy();
    expect(textOf(echoed)).toBe('echo: still here');
  };

  beforeAll(async () => {
    [fixtureHttp, slowHttp, hung] = await Promise.all([
      startFixtureHttp(),
      startFixtureHttp({ FIXTURE_MARKER: slowHttpMarker }),
      startHungServer(),
    ]);
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - ${fixtureStdioYaml('fixture', { FIXTURE_MARKER: marker })}
      - ${fixtureStdioYaml('crashy')}
      - ${fixtureStdioYaml('slowpoke', { FIXTURE_MARKER: slowMarker }, 'callTimeoutMs: 300')}
      - { name: fixture-http, transport: http, url: "${fixtureHttp.url}" }
      - { name: slowpoke-http, transport: http, url: "${slowHttp.url}", callTimeoutMs: 300 }
      - { name: silent, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE_SERVER)}, silent], connectTimeoutMs: 500 }
      - { name: hung, transport: http, url: "${hung.url}", connectTimeoutMs: 500 }
`,
      vars: { ACME_KEY: KEY },
      env: { GATEHOUSE_MAX_BODY_BYTES: String(MAX_BODY_BYTES) },
    });
    client = await connectClient(gateway.mcpUrl, KEY);
    await waitFor(
      'the healthy connections to list their tools',
      async () => {
        const names = (await listAllTools(client)).map((tool) => tool.name);
        return ['fixture_echo', 'crashy_crash', 'slowpoke_slow', 'slowpoke-http_slow', 'fixture-http_echo'].every((name) => names.includes(name));
      },
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await fixtureHttp?.stop();
    await slowHttp?.stop();
    if (hung) {
      hung.sockets.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => hung.server.close(() => resolve()));
    }
  });

  it('rejects an unknown tool with a JSON-RPC invalid-params error that names it', async () => {
    for (const name of ['fixture_no_such_tool', 'nosuchconnection_echo']) {
      const error = await client.callTool({ name, arguments: {} }).then(
        () => null,
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(-32602);
      expect((error as McpError).message).toContain(`"${name}"`);
    }
    await expectServing();
  });

  it('refuses invalid arguments with a result naming the bad property, without calling the downstream', async () => {
    const before = markerLines(marker).length;

    const wrongType = await client.callTool({ name: 'fixture_echo', arguments: { text: 42 } });
    expect(wrongType.isError).toBe(true);
    expect(textOf(wrongType)).toContain('fixture_echo');
    expect(textOf(wrongType)).toMatch(/\btext\b.*string/);

    const missing = await client.callTool({ name: 'fixture_echo', arguments: {} });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/required property 'text'/);

    const unknown = await client.callTool({ name: 'fixture_echo', arguments: { text: 'ok', colour: 'red' } });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toContain('"colour"');

    expect(markerLines(marker)).toHaveLength(before);
    // The marker does count calls that are valid: the check above is not vacuous.
    const valid = await client.callTool({ name: 'fixture_echo', arguments: { text: 'ok' } });
    expect(valid.isError).toBeFalsy();
    expect(markerLines(marker).slice(before)).toEqual(['call:echo']);
  });

  it('turns a downstream crash mid-call into an error result; the stdio server comes back by itself', async () => {
    const before = (await healthOf('crashy'))!;
    expect(before.status).toBe('connected');

    const crashed = await client.callTool({ name: 'crashy_crash', arguments: {} });
    expect(crashed.isError).toBe(true);
    expect(textOf(crashed)).toContain('"crashy"');

    // Other connections are unaffected, at once.
    await expectServing();
    const fixture = await client.callTool({ name: 'fixture_echo', arguments: { text: 'unaffected' } });
    expect(textOf(fixture)).toBe('echo: unaffected');

    const revived = await waitFor(
      'the crashed stdio connection to answer again',
      async () => {
        const result = await client.callTool({ name: 'crashy_echo', arguments: { text: 'back' } });
        return result.isError ? null : result;
      },
      30_000,
      200,
    );
    expect(textOf(revived)).toBe('echo: back');
    const after = (await healthOf('crashy'))!;
    expect(after.status).toBe('connected');
    expect(after.restarts).toBeGreaterThan(before.restarts);
  });

  it.each([
    ['slowpoke', slowMarker],
    ['slowpoke-http', slowHttpMarker],
  ])('times a slow downstream call out with the connection limit in the message, and cancels it downstream (%s)', async (connection, file) => {
    const result = await client.callTool({ name: `${connection}_slow`, arguments: { ms: 5_000 } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(`"${connection}"`);
    expect(textOf(result)).toContain('did not answer within 300 ms');
    await waitFor('the downstream to be told the call was cancelled', () => markerLines(file).includes('cancelled:slow'));

    // The connection itself is still usable, and so is everything else.
    const echoed = await client.callTool({ name: `${connection}_echo`, arguments: { text: 'quick' } });
    expect(echoed.isError).toBeFalsy();
    expect(textOf(echoed)).toBe('echo: quick');
    await expectServing();
  });

  it('lists tools without waiting on downstreams that never answer, and reports why they are down', async () => {
    const names = (await listAllTools(client)).map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['fixture_echo', 'fixture-http_echo', 'gatehouse_get_connection_health']));
    expect(names.filter((name) => name.startsWith('silent_') || name.startsWith('hung_'))).toEqual([]);

    for (const name of ['silent', 'hung']) {
      const row = await waitFor(
        `the health of "${name}" to give the reason`,
        async () => {
          const found = await healthOf(name);
          return found?.lastError ? found : null;
        },
        30_000,
      );
      expect(row.status).not.toBe('connected');
      expect(row.toolCount).toBe(0);
      expect(row.lastError).toContain('no answer to initialize within 500 ms');

      const viaTool = await client.callTool({ name: 'gatehouse_get_connection_health', arguments: { name } });
      expect(viaTool.isError).toBeFalsy();
      const reported = (viaTool.structuredContent as { connection: HealthRow }).connection;
      expect(reported.name).toBe(name);
      expect(reported.status).not.toBe('connected');
      expect(reported.lastError).toContain('no answer to initialize');

      const tool = `${name}_echo`;
      const error = await client.callTool({ name: tool, arguments: { text: 'anyone?' } }).then(
        () => null,
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(-32602);
      expect((error as McpError).message).toContain(`"${tool}"`);
    }
    await expectServing();
  });

  it('answers an oversized request body with 413 and a JSON-RPC error, then serves normally', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'fixture_echo', arguments: { text: 'x'.repeat(200_000) } },
    });
    const response = await postRaw(body);
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toContain('application/json');
    const error = (await response.json()) as JsonRpcErrorBody;
    expect(error.jsonrpc).toBe('2.0');
    expect(error.error.code).toEqual(expect.any(Number));
    expect(error.error.message).toContain(String(MAX_BODY_BYTES));
    await expectServing();
  });

  it('answers malformed JSON and non-JSON-RPC bodies with a 4xx JSON-RPC error, never a 500 or a hang', async () => {
    const malformed = await postRaw('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as JsonRpcErrorBody).error.code).toBe(-32700);

    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    expect(sessionId).toEqual(expect.any(String));
    const garbage = ['{"hello":1}', '[1, "two", {"three": null}]', '[{"jsonrpc": "2.0", "id": 7}]', '"just a string"', 'null'];
    for (const session of [undefined, sessionId]) {
      for (const body of garbage) {
        const response = await postRaw(body, session);
        const label = `${body} (${session ? 'in a session' : 'no session'}) → ${response.status}`;
        expect({ label, clientError: response.status >= 400 && response.status < 500 }).toEqual({ label, clientError: true });
        const error = (await response.json()) as JsonRpcErrorBody;
        expect(error.jsonrpc).toBe('2.0');
        expect(error.error).toMatchObject({ code: expect.any(Number), message: expect.any(String) });
      }
    }
    await expectServing();
  });

  it('keeps an idle connection open past a load balancer\'s idle timeout, so a request sent on it is answered, not reset', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; keepAlive: string; reused: boolean }>((resolve, reject) => {
        const request = httpGet(`${gateway.baseUrl}/healthz`, { agent }, (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode ?? 0, keepAlive: String(response.headers['keep-alive']), reused: request.reusedSocket }));
        });
        request.on('error', reject);
      });
    try {
      expect(await get()).toEqual({ status: 200, keepAlive: 'timeout=65', reused: false });
      // Past Node's default of 5 s, after which the gateway used to close the connection under the balancer's feet.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(await get()).toEqual({ status: 200, keepAlive: 'timeout=65', reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('passes a downstream JSON-RPC error on as an error result with the downstream message', async () => {
    const viaStdio = await client.callTool({ name: 'fixture_fail', arguments: {} });
    expect(viaStdio.isError).toBe(true);
    expect(textOf(viaStdio)).toContain('fixture failure');
    expect(textOf(viaStdio)).toContain('"fixture"');
    const viaHttp = await client.callTool({ name: 'fixture-http_fail', arguments: {} });
    expect(viaHttp.isError).toBe(true);
    expect(textOf(viaHttp)).toContain('fixture failure');
    await expectServing();
  });
});
