import type { Redis } from 'ioredis';

// Gives back what was counted, to the counters that still exist: one that is gone (its window or period is over, or
// Redis lost it) stays gone, since a negative count would outlive its window with no expiry. One script, one round trip.
const DECREMENT_EXISTING = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('DECRBY', KEYS[i], ARGV[1]) end
end
return 0`;

export interface CounterCommands {
  gatehouseDecrementExisting(keyCount: number, ...keysAndAmount: (string | number)[]): Promise<number>;
}

/** The client with the counter scripts defined (at construction: ioredis must not define a command mid-pipeline). */
export function withCounterCommands<T extends Redis>(client: T): T & CounterCommands {
  const scripted = client as T & Partial<CounterCommands>;
  if (!scripted.gatehouseDecrementExisting) scripted.defineCommand('gatehouseDecrementExisting', { lua: DECREMENT_EXISTING });
  return scripted as T & CounterCommands;
}

/** Decrements each of these counters by `amount`, those that exist (rate-limit refunds, budget releases). */
export async function decrementExisting(client: CounterCommands, keys: readonly string[], amount: string | number): Promise<void> {
  if (keys.length > 0) await client.gatehouseDecrementExisting(keys.length, ...keys, amount);
}
