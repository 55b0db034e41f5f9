import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { RedisService } from '@gatehouse/db';
import { BudgetCounter, BudgetCounters } from './budget-counters';
import { budgetWindow } from './budget-period';

// Against a real Redis (TEST_REDIS_URL, default 127.0.0.1:6379) under a random key prefix: the atomicity is
// the Lua script's, so only Redis can show it.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `gh_unit_${randomBytes(4).toString('hex')}`;
const clients: Redis[] = [];

/** A BudgetCounters with its own connection: a replica of its own. */
function replica(): BudgetCounters {
  const client = new Redis(REDIS_URL, { enableAutoPipelining: true });
  clients.push(client);
  return new BudgetCounters({ client, key: (...parts: string[]) => [prefix, ...parts].join(':') } as unknown as RedisService);
}

const now = new Date('2026-11-30T12:00:00Z');
const window = budgetWindow('month', now);
let n = 0;

function counter(limitMicros: bigint, rebuild: () => Promise<bigint> = async () => 0n): BudgetCounter {
  return { key: `${prefix}:budget:{org}:b${++n}:${window.key}`, limitMicros, window, rebuild };
}

afterAll(async () => {
  const keys = await clients[0]!.keys(`${prefix}:*`);
  if (keys.length) await clients[0]!.del(...keys);
  await Promise.all(clients.map((client) => client.quit()));
});

describe('BudgetCounters', () => {
  const [a, b] = [replica(), replica()];

  it('lets exactly as many concurrent reservations through as the limit allows, across replicas', async () => {
    const budget = counter(1_000_000n);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).reserve([budget], 100_000n, now)));
    expect(results.filter((result) => result.ok)).toHaveLength(10);
    expect(results.filter((result) => !result.ok)).toHaveLength(190);
    expect(await a.spent(budget, now)).toBe(1_000_000n);
  });

  it('increments every counter or none', async () => {
    const organization = counter(10n);
    const member = counter(2n);
    expect(await a.reserve([organization, member], 1n, now)).toEqual({ ok: true, spent: [1n, 1n] });
    expect(await a.reserve([organization, member], 1n, now)).toEqual({ ok: true, spent: [2n, 2n] });
    expect(await a.reserve([organization, member], 1n, now)).toEqual({ ok: false, index: 1, spent: 2n });
    expect(await a.spent(organization, now)).toBe(2n);
  });

  it('gives a released reservation back, and never resurrects a counter that is gone', async () => {
    const budget = counter(300n);
    await a.reserve([budget], 200n, now);
    expect((await a.reserve([budget], 200n, now)).ok).toBe(false);
    await b.release([budget], 200n);
    expect((await a.reserve([budget], 200n, now)).ok).toBe(true);

    const gone = counter(300n);
    await a.release([gone], 200n);
    expect(await clients[0]!.exists(gone.key)).toBe(0);
  });

  it('rebuilds a missing counter once from the usage records, even when replicas race to do it', async () => {
    const rebuild = jest.fn(async () => 300_000n);
    const budget = counter(1_000_000n, rebuild);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).reserve([budget], 100_000n, now)));
    expect(results.filter((result) => result.ok)).toHaveLength(7);
    expect(await a.spent(budget, now)).toBe(1_000_000n);
    // Each replica rebuilds at most once per round; whichever SET NX came first stands.
    expect(rebuild.mock.calls.length).toBeGreaterThanOrEqual(1);
  });

  it('keeps a counter until an hour after its period ends', async () => {
    const budget = counter(10n);
    await a.reserve([budget], 1n, now);
    const ttl = await clients[0]!.pttl(budget.key);
    const expected = window.end.getTime() + 3_600_000 - now.getTime();
    expect(Math.abs(ttl - expected)).toBeLessThan(5_000);
  });
});
