import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createTestDatabase, query, redisPrefix } from '../support/database';
import { gatewayEnvironment, spawnGateway, SpawnedGateway, waitUntilReady } from '../support/gateway';
import { withPlatform } from '../support/platform';
import { connectClient, listAllTools } from '../support/mcp-client';
import { freePort, RunningServer, startFixtureHttp } from '../support/servers';
import { waitFor } from '../support/wait';

// Two built gateways, one after the other, on 2 shared cores.
jest.setTimeout(240_000);

const KEY = 'ghk_test_auditinterrupted_key_001';
const CALLS = 100;

// "No request record is left without an outcome record, even when the gateway is killed mid-call."
describe('tools/calls interrupted by a killed gateway', () => {
  const directory = mkdtempSync(join(tmpdir(), 'gatehouse-audit-interrupted-'));
  let fixture: RunningServer;
  let databaseUrl: string;
  let prefix: string;
  let configPath: string;
  const gateways: SpawnedGateway[] = [];
  let current: SpawnedGateway;
  const clients: Client[] = [];

  const start = async (env: Record<string, string> = {}): Promise<string> => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const gateway = spawnGateway(
      gatewayEnvironment({
        databaseUrl,
        redisPrefix: prefix,
        env: { PORT: String(port), PUBLIC_URL: baseUrl, GATEHOUSE_CONFIG: configPath, GATEHOUSE_MIGRATE: 'false', ACME_KEY: KEY, ...env },
      }),
    );
    gateways.push(gateway);
    current = gateway;
    await waitUntilReady(gateway, baseUrl, 90_000);
    return baseUrl;
  };
  const count = async (sql: string) => Number((await query<{ n: string }>(databaseUrl, `SELECT count(*)::text AS n FROM ${sql}`))[0]!.n);

  beforeAll(async () => {
    fixture = await startFixtureHttp();
    configPath = join(directory, 'gatehouse.yaml');
    writeFileSync(
      configPath,
      withPlatform(`
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - { name: fx, transport: http, url: "${fixture.url}", maxConcurrency: 128, callTimeoutMs: 300000 }
`),
    );
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    for (const gateway of gateways) {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
        gateway.child.kill('SIGKILL');
        await gateway.exited;
      }
    }
    await fixture?.stop();
  });

  // Starts CALLS slow calls on a fresh database and waits until all their request records are committed.
  const startCalls = async (env: Record<string, string> = {}) => {
    databaseUrl = await createTestDatabase();
    prefix = redisPrefix();
    const baseUrl = await start(env);
    const client = await connectClient(`${baseUrl}/mcp`, KEY);
    clients.push(client);
    await waitFor('fx_slow to be listed', async () => (await listAllTools(client)).some((tool) => tool.name === 'fx_slow'), 60_000);
    const calls = Array.from({ length: CALLS }, () => client.callTool({ name: 'fx_slow', arguments: { ms: 120_000 } }, undefined, { timeout: 200_000 }).catch(() => null));
    await waitFor(`${CALLS} request records`, async () => (await count("audit_records WHERE kind = 'tools.call.request'")) === CALLS, 60_000);
    expect(await count('audit_open_calls')).toBe(CALLS);
    expect(await count("audit_records WHERE kind = 'tools.call.outcome'")).toBe(0);
    return calls;
  };
  // Every request record has exactly one outcome record; returns the outcomes by kind.
  const outcomesOfAll = async () => {
    const rows = await query<{ call_id: string; outcome: string; n: string }>(
      databaseUrl,
      `SELECT r.call_id::text, o.outcome, count(o.id)::text AS n
       FROM audit_records r LEFT JOIN audit_records o ON o.call_id = r.call_id AND o.kind = 'tools.call.outcome'
       WHERE r.kind = 'tools.call.request' GROUP BY r.call_id, o.outcome`,
    );
    expect(rows).toHaveLength(CALLS);
    expect(rows.filter((row) => row.n !== '1')).toEqual([]);
    expect(await count("audit_records WHERE kind = 'tools.call.outcome'")).toBe(CALLS);
    expect(await count('audit_open_calls')).toBe(0);
    return new Set(rows.map((row) => row.outcome));
  };

  it(`records every one of ${CALLS} in-flight calls as interrupted after a SIGKILL and a restart`, async () => {
    const calls = await startCalls();
    const killed = current;
    killed.child.kill('SIGKILL');
    await killed.exited;
    await Promise.all(calls);

    await start();
    // The dead process's heartbeat lapses (15 s), then reconciliation (every 5 s) records the outcomes.
    await waitFor('every request to have an outcome', async () => (await count('audit_open_calls')) === 0, 60_000, 500);
    expect(await outcomesOfAll()).toEqual(new Set(['interrupted']));
    // Actor and target are copied from the request.
    const [mismatched] = await query(
      databaseUrl,
      `SELECT 1 FROM audit_records r JOIN audit_records o ON o.call_id = r.call_id AND o.kind = 'tools.call.outcome'
       WHERE r.kind = 'tools.call.request' AND (o.actor <> r.actor OR o.target IS DISTINCT FROM r.target) LIMIT 1`,
    );
    expect(mismatched).toBeUndefined();
  });

  it('keeps the real outcome of a call another replica recorded as interrupted while its own was unheard, marked supersedesInterrupted', async () => {
    databaseUrl = await createTestDatabase();
    prefix = redisPrefix();
    const baseUrl = await start();
    const unheard = current;
    await start(); // a second replica on the same database and Redis
    const client = await connectClient(`${baseUrl}/mcp`, KEY);
    clients.push(client);
    await waitFor('fx_slow to be listed', async () => (await listAllTools(client)).some((tool) => tool.name === 'fx_slow'), 60_000);
    const call = client.callTool({ name: 'fx_slow', arguments: { ms: 1_000 } }, undefined, { timeout: 120_000 });
    await waitFor('the request record', async () => (await count('audit_open_calls')) === 1, 30_000);
    // Alive but unheard: its Redis heartbeat lapses (15 s) and the other replica reconciles (every 5 s).
    unheard.child.kill('SIGSTOP');
    try {
      await waitFor('the other replica to record the call as interrupted', async () => (await count("audit_records WHERE outcome = 'interrupted'")) === 1, 60_000, 500);
    } finally {
      unheard.child.kill('SIGCONT');
    }
    expect((await call).isError).toBeFalsy();
    await waitFor('the real outcome', async () => (await count("audit_records WHERE kind = 'tools.call.outcome'")) === 2, 30_000);
    const outcomes = await query<{ outcome: string; data: Record<string, unknown> }>(
      databaseUrl,
      "SELECT outcome, data FROM audit_records WHERE kind = 'tools.call.outcome' ORDER BY id",
    );
    expect(outcomes.map((row) => row.outcome)).toEqual(['interrupted', 'ok']);
    expect(outcomes[0]!.data).not.toHaveProperty('supersedesInterrupted');
    expect(outcomes[1]!.data).toMatchObject({ supersedesInterrupted: true });
    expect(await count('audit_open_calls')).toBe(0);
  });

  it(`leaves no call without an outcome when the gateway stops gracefully with ${CALLS} calls running`, async () => {
    const calls = await startCalls({ GATEHOUSE_SHUTDOWN_GRACE_MS: '500' });
    const stopping = current;
    stopping.child.kill('SIGTERM');
    expect(await stopping.exited).toBe(0);
    await Promise.all(calls);
    // Written by the stopping process itself: no restart, no reconciliation.
    const outcomes = await outcomesOfAll();
    expect([...outcomes].every((outcome) => outcome === 'cancelled' || outcome === 'interrupted')).toBe(true);
  });

  it('leaves no call without an outcome at a graceful stop after another replica removed its row while it was unheard', async () => {
    const calls = await startCalls({ GATEHOUSE_SHUTDOWN_GRACE_MS: '500' });
    const stopping = current;
    // What reconciliation by another replica leaves behind (besides the calls it knew of, ended): no row for this process.
    await query(databaseUrl, 'DELETE FROM audit_instances');
    stopping.child.kill('SIGTERM');
    expect(await stopping.exited).toBe(0);
    await Promise.all(calls);
    const outcomes = await outcomesOfAll();
    expect([...outcomes].every((outcome) => outcome === 'cancelled' || outcome === 'interrupted')).toBe(true);
    expect(await count('audit_instances')).toBe(0);
  });
});
