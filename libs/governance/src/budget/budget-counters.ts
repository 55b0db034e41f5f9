import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { CounterCommands, decrementExisting, RedisService, withCounterCommands } from '@gatehouse/db';
import { BudgetWindow } from './budget-period';

// All or nothing: every counter is checked before any is incremented, in one script, so concurrent calls on
// any number of replicas can never take a budget past its limit. A missing counter (a new period, a new
// budget, a Redis that lost its data) is reported rather than created, so the caller rebuilds it first.
// KEYS: one counter per budget; ARGV[1]: the call's cost; ARGV[1 + i]: the limit of KEYS[i] (micro-dollars).
const RESERVE = `
local cost = tonumber(ARGV[1])
for i = 1, #KEYS do
  local spent = redis.call('GET', KEYS[i])
  if not spent then return {'missing', i} end
  if tonumber(spent) + cost > tonumber(ARGV[i + 1]) then return {'blocked', i, spent} end
end
local result = {'ok'}
for i = 1, #KEYS do result[i + 1] = redis.call('INCRBY', KEYS[i], ARGV[1]) end
return result`;

// Counters outlive their period a little, so that calls reserved just before its end can still be released.
const GRACE_MS = 3_600_000;

type Reply = (string | number)[];

interface BudgetCommands {
  gatehouseBudgetReserve(numKeys: number, ...args: string[]): Promise<Reply>;
}

/** One budget's counter for one period. */
export interface BudgetCounter {
  key: string;
  limitMicros: bigint;
  window: BudgetWindow;
  /** What the budget's subject spent in the window, from the durable usage records. */
  rebuild(): Promise<bigint>;
}

export type CounterReservation =
  | { ok: true; /** Each counter after the increment. */ spent: bigint[] }
  | { ok: false; /** The counter that would have passed its limit. */ index: number; spent: bigint };

// Spend per budget per period in Redis, shared by every replica: keys {prefix}:budget:{<organization>}:<budget>:<period key>.
// The organization is a hash tag, so that one organization's counters share a Redis Cluster slot and one script
// can update them together.
@Injectable()
export class BudgetCounters {
  private readonly client: Redis & BudgetCommands & CounterCommands;

  constructor(private readonly redis: RedisService) {
    const client = redis.client as Redis & Partial<BudgetCommands>;
    if (!client.gatehouseBudgetReserve) client.defineCommand('gatehouseBudgetReserve', { lua: RESERVE });
    this.client = withCounterCommands(client as Redis & BudgetCommands);
  }

  key(organizationId: string, budgetId: string, window: BudgetWindow): string {
    return this.redis.key('budget', `{${organizationId}}`, budgetId, window.key);
  }

  /** Adds `cost` to every counter, or to none when one would pass its limit. */
  async reserve(counters: readonly BudgetCounter[], cost: bigint, now: Date): Promise<CounterReservation> {
    const args = [...counters.map((counter) => counter.key), cost.toString(), ...counters.map((counter) => counter.limitMicros.toString())];
    // Each round rebuilds at most one missing counter.
    for (let round = 0; round <= counters.length; round++) {
      const reply = await this.client.gatehouseBudgetReserve(counters.length, ...args);
      const index = Number(reply[1]) - 1;
      switch (reply[0]) {
        case 'ok':
          return { ok: true, spent: reply.slice(1).map((value) => BigInt(value)) };
        case 'blocked':
          return { ok: false, index, spent: BigInt(reply[2]!) };
        case 'missing':
          await this.restore(counters[index]!, now);
          break;
        default:
          throw new Error(`Unexpected reply from the budget script: ${JSON.stringify(reply)}`);
      }
    }
    throw new Error('Budget counters disappeared while being rebuilt');
  }

  /** Gives back a reservation; a counter that is gone (its period is over, or Redis lost it) is left alone. */
  async release(counters: readonly BudgetCounter[], cost: bigint): Promise<void> {
    await decrementExisting(this.client, counters.map((counter) => counter.key), cost.toString());
  }

  /** The counter's value, rebuilding it first when it is missing. */
  async spent(counter: BudgetCounter, now: Date): Promise<bigint> {
    const value = await this.client.get(counter.key);
    if (value !== null) return BigInt(value);
    await this.restore(counter, now);
    return BigInt((await this.client.get(counter.key)) ?? '0');
  }

  // SET NX: when several replicas rebuild the same counter at once, the first value stands and every
  // reservation made after it counts on top of it.
  private async restore(counter: BudgetCounter, now: Date): Promise<void> {
    const spent = await counter.rebuild();
    const ttl = Math.max(counter.window.end.getTime() + GRACE_MS - now.getTime(), 60_000);
    await this.client.set(counter.key, spent.toString(), 'PX', ttl, 'NX');
  }
}
