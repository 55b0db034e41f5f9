import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as PgClient } from 'pg';
import { CLOSE_TIMEOUT_MS } from '../../apps/gateway/src/gateway.app';
import { createTestDatabase, redisPrefix } from '../support/database';
import { gatewayEnvironment, spawnGateway, SpawnedGateway, waitUntilReady } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { fixtureStdioYaml, freePort, processExited } from '../support/servers';
import { waitFor } from '../support/wait';

// The built gateway starts as its own process on 2 shared cores: allow minutes, not jest's 5 s default.
const SLOW = 180_000;
const KEY = 'ghk_test_shutdown_admin_key_0001';

interface Health {
  name: string;
  status: string;
  pid: number | null;
}

describe('graceful shutdown of the built gateway', () => {
  const directory = mkdtempSync(join(tmpdir(), 'gatehouse-shutdown-'));
  const marker = join(directory, 'marker.log');
  let gateway: SpawnedGateway | undefined;
  let client: Client | undefined;
  let baseUrl: string;
  let childPid: number | null = null;

  beforeAll(async () => {
    const configPath = join(directory, 'gatehouse.yaml');
    writeFileSync(
      configPath,
      `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - ${fixtureStdioYaml('fixture', { FIXTURE_MARKER: marker })}
`,
    );
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    gateway = spawnGateway(
      gatewayEnvironment({
        databaseUrl: await createTestDatabase(),
        redisPrefix: redisPrefix(),
        env: {
          PORT: String(port),
          PUBLIC_URL: baseUrl,
          GATEHOUSE_CONFIG: configPath,
          // The suite database is cloned from the migrated template.
          GATEHOUSE_MIGRATE: 'false',
          ACME_KEY: KEY,
        },
      }),
    );
    await waitUntilReady(gateway!, baseUrl, 60_000);
    client = await connectClient(`${baseUrl}/mcp`, KEY);
    await waitFor('the fixture tools to be listed', async () => (await listAllTools(client!)).some((tool) => tool.name === 'fixture_slow'), 30_000);
  }, SLOW);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
    if (childPid && !processExited(childPid)) process.kill(childPid, 'SIGKILL');
  }, SLOW);

  it('on SIGTERM finishes the call in flight, reports not ready, reaps its stdio child and exits 0', async () => {
    const response = await fetch(`${baseUrl}/api/v1/connections/health`, { headers: { Authorization: `Bearer ${KEY}` } });
    const fixture = ((await response.json()) as Health[]).find((health) => health.name === 'fixture')!;
    expect(fixture.status).toBe('connected');
    childPid = fixture.pid;
    expect(childPid).toEqual(expect.any(Number));
    expect(processExited(childPid!)).toBe(false);

    let callSettled = false;
    // A bounded wait: a result dropped during shutdown must fail this test, not hang it.
    const call = client!
      .callTool({ name: 'fixture_slow', arguments: { ms: 2_000 } }, undefined, { timeout: 30_000 })
      .then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      )
      .finally(() => (callSettled = true));
    await waitFor('the slow call to reach the downstream', () => existsSync(marker) && readFileSync(marker, 'utf8').includes('call:slow'));
    gateway!.child.kill('SIGTERM');

    const draining = await waitFor('readiness to drop while draining', async () => {
      const ready = await fetch(`${baseUrl}/readyz`).catch(() => 'port closed' as const);
      if (ready === 'port closed') return ready;
      await ready.body?.cancel();
      return ready.status === 503 ? ('503' as const) : null;
    });
    expect(['503', 'port closed']).toContain(draining);
    // Seen during the drain, not after the process had already gone.
    expect(callSettled).toBe(false);

    expect(await gateway!.exited).toBe(0);
    await waitFor(`stdio child ${childPid} to be gone`, () => processExited(childPid!));

    const outcome = await call;
    expect(outcome).toEqual({ result: expect.anything() });
    if ('result' in outcome) {
      expect(outcome.result.isError).toBeFalsy();
      expect(textOf(outcome.result)).toBe('slept 2000');
    }
  }, SLOW);
});

// A database that stops answering (here: a lock held elsewhere on the table shutdown writes to) must not hold the
// process for ever: it says so and exits, and the calls it could not record are recorded later.
describe('shutdown of the built gateway when PostgreSQL stalls', () => {
  const directory = mkdtempSync(join(tmpdir(), 'gatehouse-stalled-shutdown-'));
  let gateway: SpawnedGateway | undefined;
  let holder: PgClient | undefined;

  afterAll(async () => {
    await holder?.end().catch(() => undefined);
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
  });

  it('exits within its grace period and closing time, saying it left the shutdown unfinished', async () => {
    const configPath = join(directory, 'gatehouse.yaml');
    writeFileSync(configPath, `organizations:\n  - slug: acme\n    name: Acme\n    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]\n`);
    const databaseUrl = await createTestDatabase();
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    gateway = spawnGateway(
      gatewayEnvironment({
        databaseUrl,
        redisPrefix: redisPrefix(),
        env: { PORT: String(port), PUBLIC_URL: baseUrl, GATEHOUSE_CONFIG: configPath, GATEHOUSE_MIGRATE: 'false', ACME_KEY: KEY, LOG_LEVEL: 'error' },
      }),
    );
    await waitUntilReady(gateway, baseUrl, 60_000);

    // Shutdown records the calls still running as interrupted in audit_open_calls: that is where it now waits.
    holder = new PgClient({ connectionString: databaseUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE audit_open_calls IN ACCESS EXCLUSIVE MODE');
    const signalled = Date.now();
    gateway.child.kill('SIGTERM');
    const code = await gateway.exited;
    const took = Date.now() - signalled;

    expect(code).toBe(1);
    expect(gateway.output()).toContain(`Shutdown did not finish closing within ${CLOSE_TIMEOUT_MS} ms`);
    // No call was in flight, so no grace period was used: closing's time, and a few seconds for a process on a
    // loaded machine to get the CPU to exit.
    expect(took).toBeLessThan(CLOSE_TIMEOUT_MS + 10_000);
  }, SLOW);
});
