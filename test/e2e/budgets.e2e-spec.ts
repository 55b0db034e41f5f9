import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Redis from 'ioredis';
import { verifyWebhookSignature } from '@gatehouse/governance';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { RunningServer, startFixtureHttp } from '../support/servers';
import { REDIS_URL } from '../support/test-run';
import { waitFor } from '../support/wait';
import { startReceiver, WebhookReceiver } from '../support/webhooks';

jest.setTimeout(90_000);

const KEYS = {
  admin: 'ghk_test_budgets_admin_key_00001',
  member: 'ghk_test_budgets_member_key_0002',
  globexAdmin: 'ghk_test_budgets_globex_admin_03',
};
const HOOK_SECRET = 'whsec_test_budgets_hook_secret_01';
const VARS = { ADMIN: KEYS.admin, MEMBER: KEYS.member, GLOBEX_ADMIN: KEYS.globexAdmin, HOOK_SECRET };
const BLOCKED = 'Operation blocked: monthly budget limit reached ($1.00)';

const yaml = (fixtureUrl: string, hookUrl: string) => `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: member, role: member, secretEnv: MEMBER }
    connections:
      - { name: fx, transport: http, url: "${fixtureUrl}", maxConcurrency: 64 }
    costs:
      - { connection: fx, perCallUsd: 0.10 }
      - { connection: fx, tool: count, perCallUsd: 0 }
    budgets:
      - { scope: organization, period: month, limitUsd: 1, alertAt: [0.8, 1.0] }
    webhooks:
      - { name: finance, url: "${hookUrl}", secretEnv: HOOK_SECRET, events: [budget.alert] }
  - slug: globex
    name: Globex
    apiKeys:
      - { name: admin, role: admin, secretEnv: GLOBEX_ADMIN }
    connections:
      - { name: fx-a, transport: http, url: "${fixtureUrl}" }
      - { name: fx-b, transport: http, url: "${fixtureUrl}" }
`;


interface UsageReport {
  calls: number;
  costUsd: number;
  costMicros: number;
  groups: { connection?: string; tool?: string; calls: number; costUsd: number; costMicros: number }[];
}

interface BudgetsView {
  configManaged: boolean;
  budgets: { scope: string; connection?: string; limitUsd: number; current: { period: string; spentUsd: number; spentMicros: number } }[];
}


// Budgets and usage on two gateway replicas sharing PostgreSQL and Redis, in front of one HTTP downstream.
describe('budgets and usage', () => {
  let fixture: RunningServer;
  let receiver: WebhookReceiver;
  let first: TestGateway;
  let second: TestGateway;
  let marker: string;
  let redis: Redis;
  const clients: Client[] = [];

  const connect = async (gateway: TestGateway, key: string) => {
    const client = await connectClient(gateway.mcpUrl, key);
    clients.push(client);
    return client;
  };
  const api = <T>(gateway: TestGateway, key: string, method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, key, method, path, body);
  const downstreamCalls = (tool: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === `call:${tool}`).length : 0);
  const usage = async (gateway: TestGateway, key: string, search: string) => (await api<UsageReport>(gateway, key, 'GET', `/api/v1/usage?${search}`)).body;

  beforeAll(async () => {
    marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-budgets-')), 'marks');
    [fixture, receiver] = await Promise.all([startFixtureHttp({ FIXTURE_MARKER: marker }), startReceiver()]);
    const file = yaml(fixture.url, receiver.url);
    first = await startGateway({ yaml: file, vars: VARS });
    second = await startGateway({ yaml: file, vars: VARS, databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix });
    redis = new Redis(REDIS_URL);
    for (const gateway of [first, second]) {
      await waitFor('the replica to list fx_echo', async () => {
        const client = await connectClient(gateway.mcpUrl, KEYS.admin);
        const names = (await listAllTools(client)).map((tool) => tool.name);
        await client.close();
        return names.includes('fx_echo');
      }, 30_000);
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled([first?.close(), second?.close()]);
    await Promise.allSettled([fixture?.stop(), receiver?.stop(), redis?.quit()]);
  });

  it('lets exactly $1.00 of $0.10 calls through when 200 race over two replicas, and blocks the rest', async () => {
    const sessions = await Promise.all([first, first, first, first, second, second, second, second].map((gateway) => connect(gateway, KEYS.admin)));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sessions[i % sessions.length]!.callTool({ name: 'fx_echo', arguments: { text: `call ${i}` } })),
    );
    const succeeded = results.filter((result) => !result.isError);
    const blocked = results.filter((result) => result.isError && textOf(result) === BLOCKED);
    expect({ succeeded: succeeded.length, blocked: blocked.length }).toEqual({ succeeded: 10, blocked: 190 });
    expect(downstreamCalls('echo')).toBe(10);

    // Both replicas' usage records (written in the background) add up to the limit.
    const report = await waitFor('the usage of both replicas', async () => {
      const current = await usage(second, KEYS.admin, 'groupBy=connection');
      return current.costMicros === 1_000_000 ? current : null;
    });
    expect(report).toMatchObject({ calls: 10, costUsd: 1, groups: [{ connection: 'fx', calls: 10, costUsd: 1, costMicros: 1_000_000 }] });
    const budgets = (await api<BudgetsView>(first, KEYS.admin, 'GET', '/api/v1/budgets')).body;
    expect(budgets.configManaged).toBe(true);
    expect(budgets.budgets).toEqual([expect.objectContaining({ scope: 'organization', limitUsd: 1, current: expect.objectContaining({ spentUsd: 1, spentMicros: 1_000_000 }) })]);

    // A free tool is never blocked, whatever the budget.
    expect((await sessions[0]!.callTool({ name: 'fx_count', arguments: {} })).isError).toBeFalsy();
  });

  it('sends one signed alert at 80% and one at 100%, whichever replica crossed them', async () => {
    await waitFor('two budget alerts', () => receiver.deliveries.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receiver.deliveries).toHaveLength(2);
    const events = receiver.deliveries.map(({ headers, body }) => {
      expect(headers['gatehouse-event']).toBe('budget.alert');
      expect(verifyWebhookSignature(HOOK_SECRET, body, String(headers['gatehouse-signature']))).toBe(true);
      expect(verifyWebhookSignature('another-secret-0000000', body, String(headers['gatehouse-signature']))).toBe(false);
      return JSON.parse(body) as { type: string; data: { threshold: number; spentMicros: number; organization: { slug: string }; budget: { scope: string; limitUsd: number } } };
    });
    expect(events.map((event) => event.data.threshold).sort()).toEqual([0.8, 1]);
    for (const event of events) {
      expect(event).toMatchObject({ type: 'budget.alert', data: { organization: { slug: 'acme' }, budget: { scope: 'organization', limitUsd: 1 } } });
      expect(event.data.spentMicros).toBe(event.data.threshold * 1_000_000);
    }
  });

  it('rebuilds the counters from the usage records when Redis loses them', async () => {
    const keys = await redis.keys(`${first.redisPrefix}:budget:*`);
    expect(keys).toHaveLength(1);
    await redis.del(...keys);
    const client = await connect(second, KEYS.admin);
    expect(textOf(await client.callTool({ name: 'fx_echo', arguments: { text: 'after the loss' } }))).toBe(BLOCKED);
    expect(await redis.get(keys[0]!)).toBe('1000000');
    expect(downstreamCalls('echo')).toBe(10);
  });

  it('keeps costs and budgets to admins, and refuses changes to the ones the config file manages', async () => {
    expect((await api(first, KEYS.member, 'GET', '/api/v1/usage')).status).toBe(403);
    expect((await api(first, KEYS.member, 'GET', '/api/v1/budgets')).status).toBe(403);
    expect((await api(first, KEYS.member, 'PUT', '/api/v1/costs', { costs: [] })).status).toBe(403);
    const costs = await api<{ detail: string }>(first, KEYS.admin, 'PUT', '/api/v1/costs', { costs: [] });
    expect(costs.status).toBe(409);
    expect(costs.body.detail).toContain('managed by the config file');
    expect((await api(first, KEYS.admin, 'PUT', '/api/v1/budgets', { budgets: [] })).status).toBe(409);
    const invalid = await api<{ detail: string }>(first, KEYS.globexAdmin, 'PUT', '/api/v1/budgets', { budgets: [{ scope: 'connection', period: 'day', limitUsd: 5 }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.detail).toContain('connection');
  });

  it('sums usage by connection and tool over a period, applies API changes on the other replica, and rolls over', async () => {
    const onSecond = await connect(second, KEYS.globexAdmin);
    // Free: no prices yet. This also has the second replica cache Globex's (empty) prices and budgets.
    expect((await onSecond.callTool({ name: 'fx-a_echo', arguments: { text: 'free' } })).isError).toBeFalsy();

    const prices = {
      costs: [
        { connection: 'fx-a', perCallUsd: 0.02 },
        { connection: 'fx-b', perCallUsd: 0.05 },
        { connection: 'fx-b', tool: 'echo', perCallUsd: 0.07 },
      ],
    };
    const saved = await api<{ configManaged: boolean; costs: { tool: string | null; perCallMicros: number }[] }>(first, KEYS.globexAdmin, 'PUT', '/api/v1/costs', prices);
    expect(saved.status).toBe(200);
    expect(saved.body.configManaged).toBe(false);
    expect(saved.body.costs.map((cost) => [cost.tool, cost.perCallMicros])).toEqual([[null, 20_000], [null, 50_000], ['echo', 70_000]]);

    const onFirst = await connect(first, KEYS.globexAdmin);
    for (let i = 0; i < 3; i++) await onFirst.callTool({ name: 'fx-a_echo', arguments: { text: `a${i}` } });
    for (let i = 0; i < 2; i++) await onFirst.callTool({ name: 'fx-b_echo', arguments: { text: `b${i}` } });
    await onFirst.callTool({ name: 'fx-b_write_note', arguments: { text: 'note' } });

    const byConnection = await waitFor('Globex usage', async () => {
      const report = await usage(first, KEYS.globexAdmin, 'groupBy=connection');
      return report.calls === 7 ? report : null;
    });
    expect(byConnection).toMatchObject({
      costUsd: 0.25,
      costMicros: 250_000,
      groups: [
        { connection: 'fx-a', calls: 4, costUsd: 0.06, costMicros: 60_000 },
        { connection: 'fx-b', calls: 3, costUsd: 0.19, costMicros: 190_000 },
      ],
    });
    expect((await usage(first, KEYS.globexAdmin, 'groupBy=tool')).groups).toEqual([
      { connection: 'fx-a', tool: 'echo', calls: 4, costUsd: 0.06, costMicros: 60_000 },
      { connection: 'fx-b', tool: 'echo', calls: 2, costUsd: 0.14, costMicros: 140_000 },
      { connection: 'fx-b', tool: 'write_note', calls: 1, costUsd: 0.05, costMicros: 50_000 },
    ]);

    // A daily budget on one connection, set through one replica, starts from today's records and binds on the other.
    const budgets = await api<BudgetsView>(first, KEYS.globexAdmin, 'PUT', '/api/v1/budgets', {
      budgets: [{ scope: 'connection', connection: 'fx-b', period: 'day', limitUsd: 0.3 }],
    });
    expect(budgets.status).toBe(200);
    expect(budgets.body.budgets[0]).toMatchObject({ scope: 'connection', connection: 'fx-b', current: { spentUsd: 0.19 } });
    const limited = 'Operation blocked: daily budget limit of connection "fx-b" reached ($0.30)';
    await waitFor('the other replica to enforce the new budget', async () => textOf(await onSecond.callTool({ name: 'fx-b_echo', arguments: { text: 'x' } })) === limited);
    expect((await onSecond.callTool({ name: 'fx-a_echo', arguments: { text: 'still fine' } })).isError).toBeFalsy();

    // Last month's spending counts in last month only.
    const [{ id: organizationId }] = await query<{ id: string }>(first.databaseUrl, "SELECT id FROM organizations WHERE slug = 'globex'");
    const now = new Date();
    const thisMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    await query(
      first.databaseUrl,
      `INSERT INTO usage_records (id, organization_id, occurred_at, connection, tool, principal_subject, cost_micros, outcome)
       VALUES (gen_random_uuid(), $1, $2, 'fx-a', 'echo', 'api_key:old', 5000000, 'ok')`,
      [organizationId, new Date(thisMonth.getTime() - 60_000)],
    );
    // Usage records are written in batches a moment after the call: wait for "still fine" to be counted.
    const counted = await waitFor('the last call to be counted', async () => {
      const [fxA] = (await usage(first, KEYS.globexAdmin, 'groupBy=connection')).groups;
      return fxA?.costMicros === 80_000 ? fxA : null;
    });
    expect(counted).toMatchObject({ connection: 'fx-a', costMicros: 80_000 });
    const previous = await usage(first, KEYS.globexAdmin, `from=${lastMonth.toISOString().slice(0, 10)}&to=${thisMonth.toISOString().slice(0, 10)}`);
    expect(previous).toMatchObject({ calls: 1, costUsd: 5, groups: [{ connection: 'fx-a', costUsd: 5 }] });
    expect((await api(first, KEYS.globexAdmin, 'GET', '/api/v1/usage?from=2026-02-01&to=2026-01-01')).status).toBe(400);
  });

  it('reports usage to an admin assistant through gatehouse_get_usage_stats', async () => {
    const member = await connect(first, KEYS.member);
    expect((await listAllTools(member)).map((tool) => tool.name)).not.toContain('gatehouse_get_usage_stats');
    const admin = await connect(first, KEYS.admin);
    const tool = (await listAllTools(admin)).find((candidate) => candidate.name === 'gatehouse_get_usage_stats');
    expect(tool?.annotations).toMatchObject({ readOnlyHint: true });
    const result = await admin.callTool({ name: 'gatehouse_get_usage_stats', arguments: { groupBy: 'tool' } });
    expect(result.structuredContent).toMatchObject({
      usage: { costUsd: 1, groups: [{ connection: 'fx', tool: 'count', calls: 1, costUsd: 0 }, { connection: 'fx', tool: 'echo', calls: 10, costUsd: 1 }] },
    });
  });
});
