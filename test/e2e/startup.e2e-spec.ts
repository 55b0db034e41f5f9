import { createTestDatabase, redisPrefix } from '../support/database';
import { gatewayEnvironment, spawnGateway, SpawnedGateway, startupFailureLine } from '../support/gateway';
import { freePort } from '../support/servers';
import { waitFor } from '../support/wait';

// Longer than the root 60 s: this suite waits on spawned processes and reconnects on a small, shared machine.
jest.setTimeout(120_000);

describe('start-up of the gateway process', () => {
  let databaseUrl: string;
  const spawned: SpawnedGateway[] = [];
  const spawn = (env: Record<string, string>) => {
    const gateway = spawnGateway(env);
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
});
