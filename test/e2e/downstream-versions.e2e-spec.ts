import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { oldProtocolStdioYaml, RunningServer, startOldProtocolHttp, startOldProtocolSse } from '../support/servers';
import { waitFor } from '../support/wait';

const KEY = 'ghk_test_downstream_versions_admin_0001';

interface HealthRow {
  id: string;
  name: string;
  status: string;
  protocolVersion: string | null;
  server: { name: string; version: string } | null;
}

interface Readiness {
  connections: {
    total: number;
    connected: number;
    protocolVersions: Record<string, number>;
    items: { name: string; state: string; protocolVersion: string | null }[];
  };
}

// Downstreams built on older SDKs answer initialize with an older protocol version; the gateway (whose SDK asks
// for the latest) must keep talking to them, over stdio, streamable HTTP (where every request after initialize names
// the version in MCP-Protocol-Version, and these servers refuse any other) and the legacy HTTP+SSE transport, and
// say which version each one settled on.
describe('downstreams speaking older MCP protocol versions', () => {
  let sse: RunningServer;
  let juneHttp: RunningServer;
  let marchHttp: RunningServer;
  let gateway: TestGateway;
  let client: Client;

  const health = async (): Promise<HealthRow[]> => {
    const reply = await apiRequest<HealthRow[]>(gateway.baseUrl, KEY, 'GET', '/api/v1/connections/health');
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const row = (rows: HealthRow[], name: string): HealthRow => {
    const found = rows.find((r) => r.name === name);
    if (!found) throw new Error(`no health row for ${name}`);
    return found;
  };

  beforeAll(async () => {
    [sse, juneHttp, marchHttp] = await Promise.all([startOldProtocolSse('2024-11-05'), startOldProtocolHttp('2025-06-18'), startOldProtocolHttp('2025-03-26')]);
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: versions
    name: Versions
    apiKeys: [{ name: admin, role: admin, secretEnv: VERSIONS_KEY }]
    connections:
      - ${oldProtocolStdioYaml('march', '2025-03-26')}
      - ${oldProtocolStdioYaml('june', '2025-06-18')}
      - { name: legacy-sse, transport: sse, url: "${sse.url}" }
      - { name: june-http, transport: http, url: "${juneHttp.url}" }
      - { name: march-http, transport: http, url: "${marchHttp.url}" }
      - { name: broken, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: ["-e", "process.exit(3)"] }
`,
      vars: { VERSIONS_KEY: KEY },
    });
    client = await connectClient(gateway.mcpUrl, KEY);
    await waitFor('the five downstreams to list their tools', async () => {
      const names = (await listAllTools(client)).map((tool) => tool.name);
      return ['march_echo', 'june_echo', 'legacy-sse_echo', 'june-http_echo', 'march-http_echo'].every((name) => names.includes(name));
    }, 30_000);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await Promise.all([sse?.stop(), juneHttp?.stop(), marchHttp?.stop()]);
  });

  it('lists and calls the tools of 2025-03-26 and 2025-06-18 downstreams over stdio and streamable HTTP, and a 2024-11-05 SSE downstream', async () => {
    const names = (await listAllTools(client)).map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining(['march_echo', 'march_version', 'june_echo', 'june_version', 'legacy-sse_echo', 'legacy-sse_version', 'june-http_echo', 'march-http_version']),
    );
    for (const [prefix, version] of [
      ['march', '2025-03-26'],
      ['june', '2025-06-18'],
      ['legacy-sse', '2024-11-05'],
      // These answer 400 to a request naming another version: a call that succeeds carried the negotiated one.
      ['june-http', '2025-06-18'],
      ['march-http', '2025-03-26'],
    ] as const) {
      const echoed = await client.callTool({ name: `${prefix}_echo`, arguments: { text: 'hello' } });
      expect(echoed.isError).toBeFalsy();
      expect(textOf(echoed)).toBe(`${version}: hello`);
      // The downstream itself reports the version it agreed to: the same one the gateway records.
      expect(textOf(await client.callTool({ name: `${prefix}_version`, arguments: {} }))).toBe(version);
    }
  });

  it('shows each negotiated protocol version in the connection health, and none for a connection that is down', async () => {
    const rows = await health();
    expect(row(rows, 'march')).toMatchObject({ status: 'connected', protocolVersion: '2025-03-26', server: { name: 'old-protocol-2025-03-26' } });
    expect(row(rows, 'june')).toMatchObject({ status: 'connected', protocolVersion: '2025-06-18', server: { name: 'old-protocol-2025-06-18' } });
    expect(row(rows, 'legacy-sse')).toMatchObject({ status: 'connected', protocolVersion: '2024-11-05', server: { name: 'old-protocol-2024-11-05' } });
    expect(row(rows, 'june-http')).toMatchObject({ status: 'connected', protocolVersion: '2025-06-18' });
    expect(row(rows, 'march-http')).toMatchObject({ status: 'connected', protocolVersion: '2025-03-26' });
    const broken = row(rows, 'broken');
    expect(broken.status).not.toBe('connected');
    expect(broken.protocolVersion).toBeNull();

    // One connection's health says the same.
    const one = await apiRequest<HealthRow>(gateway.baseUrl, KEY, 'GET', `/api/v1/connections/${row(rows, 'march').id}/health`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name: 'march', protocolVersion: '2025-03-26' });
  });

  it('counts the connected downstreams per protocol version in /readyz', async () => {
    const ready = await apiRequest<Readiness>(gateway.baseUrl, null, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    // The broken connection negotiated nothing and is not counted.
    expect(ready.body.connections.protocolVersions).toEqual({ '2025-03-26': 2, '2025-06-18': 2, '2024-11-05': 1 });
    expect(ready.body.connections.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'march', state: 'connected', protocolVersion: '2025-03-26' }),
        expect.objectContaining({ name: 'legacy-sse', state: 'connected', protocolVersion: '2024-11-05' }),
        expect.objectContaining({ name: 'broken', protocolVersion: null }),
      ]),
    );
  });

  it('says which protocol version a connection would speak when it is tested, saved or not', async () => {
    const unsaved = await apiRequest<{ ok: boolean; protocolVersion: string | null; tools: string[] }>(gateway.baseUrl, KEY, 'POST', '/api/v1/connections/test', {
      name: 'probe',
      transport: 'http',
      url: juneHttp.url,
    });
    expect(unsaved.status).toBe(200);
    expect(unsaved.body).toMatchObject({ ok: true, protocolVersion: '2025-06-18', tools: ['echo', 'version'] });

    const saved = await apiRequest<{ ok: boolean; protocolVersion: string | null }>(gateway.baseUrl, KEY, 'POST', `/api/v1/connections/${row(await health(), 'legacy-sse').id}/test`);
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ ok: true, protocolVersion: '2024-11-05' });

    const down = await apiRequest<{ ok: boolean; protocolVersion: string | null }>(gateway.baseUrl, KEY, 'POST', `/api/v1/connections/${row(await health(), 'broken').id}/test`);
    expect(down.body).toMatchObject({ ok: false, protocolVersion: null });
  });
});
