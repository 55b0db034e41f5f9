import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { connectionHealth } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import {
  everythingStdioYaml,
  fixtureStdioYaml,
  RunningServer,
  startEverythingHttp,
  startEverythingSse,
  startFixtureHttp,
} from '../support/servers';
import { waitFor } from '../support/wait';

const KEY = 'ghk_test_aggregation_admin_key_0001';

describe('aggregating real downstream MCP servers', () => {
  let everythingHttp: RunningServer;
  let everythingSse: RunningServer;
  let fixtureHttp: RunningServer;
  let gateway: TestGateway;
  let client: Client;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-'));
  const marker = join(dir, 'marker.log');
  const httpMarker = join(dir, 'http-marker.log');
  const markerOf: Record<string, string> = { fixture: marker, 'fixture-http': httpMarker };
  const marks = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

  beforeAll(async () => {
    [everythingHttp, everythingSse, fixtureHttp] = await Promise.all([
      startEverythingHttp(),
      startEverythingSse(),
      startFixtureHttp({ FIXTURE_MARKER: httpMarker }),
    ]);
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - ${everythingStdioYaml('everything')}
      - { name: everything-http, transport: http, url: "${everythingHttp.url}" }
      - { name: everything-sse, transport: sse, url: "${everythingSse.url}" }
      - ${fixtureStdioYaml('fixture', { FIXTURE_MARKER: marker })}
      - ${fixtureStdioYaml('serial', {}, 'maxConcurrency: 1')}
      - { name: fixture-http, transport: http, url: "${fixtureHttp.url}" }
`,
      vars: { ACME_KEY: KEY },
    });
    client = await connectClient(gateway.mcpUrl, KEY);
    await waitFor('every connection to list its tools', async () => {
      const names = (await listAllTools(client)).map((tool) => tool.name);
      return ['everything_echo', 'everything-http_echo', 'everything-sse_echo', 'fixture_slow', 'serial_slow', 'fixture-http_slow'].every((name) =>
        names.includes(name),
      );
    });
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await everythingHttp?.stop();
    await everythingSse?.stop();
    await fixtureHttp?.stop();
  });

  it('lists every downstream tool under its connection prefix, with definitions passed through', async () => {
    const tools = await listAllTools(client);
    const names = tools.map((tool) => tool.name);
    for (const prefix of ['everything', 'everything-http']) {
      for (const tool of ['echo', 'get-sum', 'get-structured-content', 'get-tiny-image', 'trigger-long-running-operation']) {
        expect(names).toContain(`${prefix}_${tool}`);
      }
    }
    expect(names).toEqual(expect.arrayContaining(['gatehouse_list_connections', 'gatehouse_get_connection_health']));
    const echo = tools.find((tool) => tool.name === 'fixture_echo')!;
    expect(echo.description).toBe('Echoes text');
    expect(echo.annotations).toEqual({ readOnlyHint: true });
    expect(echo.inputSchema).toMatchObject({ type: 'object', required: ['text'] });
    expect(echo._meta).toMatchObject({ 'io.gatehouse/connection': 'fixture', 'io.gatehouse/tool': 'echo' });
    const structured = tools.find((tool) => tool.name === 'everything_get-structured-content')!;
    expect(structured.outputSchema).toBeDefined();
  });

  it('returns the downstream result over stdio, streamable HTTP and legacy SSE', async () => {
    const viaStdio = await client.callTool({ name: 'everything_echo', arguments: { message: 'hello stdio' } });
    const viaHttp = await client.callTool({ name: 'everything-http_echo', arguments: { message: 'hello http' } });
    const viaSse = await client.callTool({ name: 'everything-sse_echo', arguments: { message: 'hello sse' } });
    expect(textOf(viaStdio)).toBe('Echo: hello stdio');
    expect(textOf(viaHttp)).toBe('Echo: hello http');
    expect(textOf(viaSse)).toBe('Echo: hello sse');
    expect(viaStdio.isError).toBeFalsy();
  });

  it('keeps structured content and non-text content intact', async () => {
    const structured = await client.callTool({ name: 'everything-http_get-structured-content', arguments: { location: 'Chicago' } });
    expect(structured.structuredContent).toMatchObject({ temperature: expect.any(Number), conditions: expect.any(String) });
    const image = await client.callTool({ name: 'everything_get-tiny-image', arguments: {} });
    const content = image.content as { type: string; data?: string; mimeType?: string }[];
    const picture = content.find((item) => item.type === 'image')!;
    expect(picture.mimeType).toBe('image/png');
    expect(Buffer.from(picture.data!, 'base64').subarray(1, 4).toString()).toBe('PNG');
    const echoed = await client.callTool({ name: 'fixture_echo', arguments: { text: 'structured' } });
    expect(echoed.structuredContent).toEqual({ text: 'structured', at: 'fixture' });
  });

  it.each(['everything', 'everything-http', 'everything-sse'])(
    'forwards progress notifications of a long-running tool to the client (%s)',
    async (connection) => {
      const progress: { progress: number; total?: number }[] = [];
      const result = await client.callTool(
        { name: `${connection}_trigger-long-running-operation`, arguments: { duration: 1, steps: 4 } },
        undefined,
        { onprogress: (update) => progress.push(update) },
      );
      expect(textOf(result)).toContain('Long running operation completed');
      expect(progress.map((update) => update.progress)).toEqual([1, 2, 3, 4]);
      expect(progress[0]!.total).toBe(4);
    },
  );

  it.each(['fixture', 'fixture-http'])('forwards cancellation to the downstream server (%s)', async (connection) => {
    const file = markerOf[connection]!;
    const before = marks(file).length;
    const controller = new AbortController();
    const call = client.callTool({ name: `${connection}_slow`, arguments: { ms: 20_000 } }, undefined, { signal: controller.signal });
    await waitFor('the slow call to reach the downstream', () => marks(file).slice(before).includes('call:slow'));
    controller.abort('user cancelled');
    await expect(call).rejects.toThrow();
    await waitFor('the downstream to see the cancellation', () => marks(file).slice(before).includes('cancelled:slow'));
  });

  it('cancels the downstream call when the client hangs up on the request', async () => {
    const transport = client.transport as StreamableHTTPClientTransport;
    const before = marks(httpMarker).length;
    const hangUp = new AbortController();
    const request = fetch(gateway.mcpUrl, {
      method: 'POST',
      signal: hangUp.signal,
      headers: {
        Authorization: `Bearer ${KEY}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': transport.sessionId!,
        'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'hang-up', method: 'tools/call', params: { name: 'fixture-http_slow', arguments: { ms: 20_000 } } }),
    });
    await waitFor('the slow call to reach the downstream', () => marks(httpMarker).slice(before).includes('call:slow'));
    hangUp.abort();
    await expect(request).rejects.toThrow();
    await waitFor('the downstream to see the cancellation', () => marks(httpMarker).slice(before).includes('cancelled:slow'));
  });

  it('bounds concurrency per connection: calls beyond maxConcurrency wait their turn', async () => {
    const health = () => connectionHealth<{ name: string; inFlight: number; queued: number }>(gateway.baseUrl, KEY, 'serial');
    const calls = [1, 2, 3].map(() => client.callTool({ name: 'serial_slow', arguments: { ms: 1_500 } }));
    await waitFor('one call running and two queued', async () => {
      const { inFlight, queued } = await health();
      return inFlight === 1 && queued === 2;
    });
    const results = await Promise.all(calls);
    expect(results.map(textOf)).toEqual(['slept 1500', 'slept 1500', 'slept 1500']);
    expect(await health()).toMatchObject({ inFlight: 0, queued: 0 });
  });
});
