import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ApiReply, apiRequest } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, textOf } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

const ADMIN = 'ghk_test_operations_admin_key_0001';

// The endpoints an operator points load balancers, Prometheus and API tooling at.
describe('operational endpoints', () => {
  let gateway: TestGateway;
  let client: Client | undefined;

  const get = <T>(path: string): Promise<ApiReply<T>> => apiRequest<T>(gateway.baseUrl, null, 'GET', path);

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
    connections:
      - ${fixtureStdioYaml('managed')}
`,
      vars: { ADMIN_KEY: ADMIN },
    });
    await waitFor('the managed connection to be connected', async () => {
      const ready = await get<{ connections: { items: { name: string; state: string }[] } }>('/readyz');
      return ready.body.connections?.items.some((item) => item.name === 'managed' && item.state === 'connected') ?? false;
    }, 30_000);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
  });

  it('serves an OpenAPI document with the connection paths', async () => {
    const docs = await get<{ openapi: string; paths: Record<string, Record<string, unknown>> }>('/api/docs-json');
    expect(docs.status).toBe(200);
    expect(docs.body.openapi).toMatch(/^3\./);
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/connections', '/api/v1/connections/{id}', '/api/v1/connections/{id}/test', '/api/v1/api-keys']),
    );
    expect(Object.keys(docs.body.paths['/api/v1/connections']!)).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(docs.body.paths['/api/v1/connections/{id}']!)).toEqual(expect.arrayContaining(['get', 'put', 'delete']));
  });

  it('counts MCP tool calls per connection in /metrics', async () => {
    client ??= await connectClient(gateway.mcpUrl, ADMIN);
    const result = await client.callTool({ name: 'managed_echo', arguments: { text: 'metered' } });
    expect(textOf(result)).toBe('echo: metered');
    const metrics = await get<string>('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('# TYPE gatehouse_tool_calls_total counter');
    const line = metrics.body.split('\n').find((l) => l.startsWith('gatehouse_tool_calls_total{') && l.includes('connection="managed"') && l.includes('outcome="ok"'));
    expect(line).toBeDefined();
    expect(Number(line!.split(' ').pop())).toBeGreaterThanOrEqual(1);
  });

  it('answers /healthz with 200', async () => {
    const health = await get<{ status: string }>('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 200, the database and Redis checks and a connections summary', async () => {
    const ready = await get<{
      status: string;
      database: { ok: boolean };
      redis: { ok: boolean };
      connections: { total: number; connected: number; items: { name: string; state: string }[] };
    }>('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', database: { ok: true }, redis: { ok: true } });
    expect(ready.body.connections.total).toBe(ready.body.connections.items.length);
    expect(ready.body.connections.connected).toBeGreaterThanOrEqual(1);
    expect(ready.body.connections.items).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'managed', state: 'connected' })]));
  });
});
