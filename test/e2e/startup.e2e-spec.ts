import { createTestDatabase, query, redisPrefix } from '../support/database';
import { gatewayEnvironment, spawnGateway, SpawnedGateway, spawnWorker, startupFailureLine, waitUntilReady } from '../support/gateway';
import { freePort } from '../support/servers';
import { waitFor } from '../support/wait';

// Longer than the root 60 s: this suite waits on spawned processes and reconnects on a small, shared machine.
jest.setTimeout(120_000);

describe('start-up of the gateway process', () => {
  let databaseUrl: string;
  const spawned: SpawnedGateway[] = [];
  const spawn = (env: Record<string, string>, start = spawnGateway) => {
    const gateway = start(env);
    spawned.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });

  afterAll(async () => {
    for (const gateway of spawned) {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
        gateway.child.kill('SIGKILL');
        await gateway.exited;
      }
    }
  });

  it('stops with one line about PostgreSQL and how to start it when the database is unreachable', async () => {
    const gateway = spawn(
      gatewayEnvironment({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/gatehouse', redisPrefix: redisPrefix() }),
    );
    const line = await startupFailureLine(gateway);
    expect(line).toMatch(/^gatehouse: PostgreSQL is not reachable at 127\.0\.0\.1:1/);
    expect(line).toMatch(/start it/);
    expect(line).toMatch(/DATABASE_URL/);
  });

  it('stops with one line about Redis and how to start it when Redis is unreachable', async () => {
    const gateway = spawn({
      ...gatewayEnvironment({ databaseUrl, redisPrefix: redisPrefix() }),
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    const line = await startupFailureLine(gateway);
    expect(line).toMatch(/^gatehouse: Redis is not reachable at 127\.0\.0\.1:1/);
    expect(line).toMatch(/start it/);
    expect(line).toMatch(/REDIS_URL/);
  });

  it('stops with one line naming DATABASE_URL when it is not set', async () => {
    const { DATABASE_URL: _unset, ...env } = gatewayEnvironment({ databaseUrl, redisPrefix: redisPrefix() });
    const gateway = spawn(env);
    expect(await startupFailureLine(gateway)).toMatch(/^gatehouse: .*DATABASE_URL is not set/);
  });

  it('starts with a correct environment, answers /healthz, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const gateway = spawn({
      ...gatewayEnvironment({ databaseUrl, redisPrefix: redisPrefix() }),
      PORT: String(port),
    });
    const health = await waitFor(
      '/healthz to answer',
      async () => {
        if (gateway.child.exitCode !== null) throw new Error(`gateway exited with ${gateway.child.exitCode}: ${gateway.output()}`);
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        return response.status === 200 ? await response.json() : null;
      },
      60_000,
    );
    expect(health).toEqual({ status: 'ok' });
    expect(gateway.output()).toContain(`gatehouse: listening on 127.0.0.1:${port}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    await ready.body?.cancel();

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });

  it('leaves the background jobs to `npm run start:worker` when started with GATEHOUSE_RUN_WORKERS=false', async () => {
    const port = await freePort();
    const env = gatewayEnvironment({ databaseUrl, redisPrefix: redisPrefix() });
    const gateway = spawn({ ...env, PORT: String(port), GATEHOUSE_RUN_WORKERS: 'false' });
    await waitUntilReady(gateway, `http://127.0.0.1:${port}`);
    // Something to do: a refused credential's audit record. It is chained as it is written; the signed checkpoint
    // of the chain's head is a job's.
    const refused = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { Authorization: 'Bearer ghk_no_such_key_for_the_worker_test_0' } });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
    await waitFor('the refusal to be recorded, chained', async () => (await query(databaseUrl, "SELECT 1 FROM audit_records WHERE kind = 'auth.failed' AND seq IS NOT NULL")).length === 1, 10_000);
    const checkpoint = async () => (await query<{ seq: string }>(databaseUrl, 'SELECT seq::text FROM audit_checkpoints'))[0]?.seq ?? null;
    // In-process workers make it within a second; this gateway only enqueues.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await checkpoint()).toBeNull();

    const worker = spawn({ ...env, GATEHOUSE_MIGRATE: 'false' }, spawnWorker);
    expect(await waitFor('the worker to checkpoint the chain', checkpoint, 60_000)).toMatch(/^\d+$/);
    // The queues' consumers start with the application context, so a job can finish before the line that says so.
    await waitFor('the worker to say it consumes the queues', () => worker.output().includes('gatehouse-worker: consuming queues'), 10_000);
    // Nest closes the queues' workers, then re-raises the signal (its shutdown hooks' convention).
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBeNull();
    expect(worker.child.signalCode).toBe('SIGTERM');
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });
});
