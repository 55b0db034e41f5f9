import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformSettings } from '@gatehouse/config';
import { CounterCommands, decrementExisting, RedisService, withCounterCommands } from '@gatehouse/db';
import {
  partitionKey,
  principalRateLimits,
  RATE_LIMITS,
  RateLimitPolicy,
  RateLimitResult,
  RateLimitRule,
  RateLimitSubject,
} from './rate-limits';
import { IDLE_MS, LEASE_SHARE, LeasedCount, QuotaLeases } from './quota-leases';

// Every quota of a request in one script, so one command and one round trip whatever their number, and atomic: a
// request counts against every quota when all of them have room, else only against those it is refused by (a
// credential's refused flood must not spend its organization's quota, nor one client's the address's it shares with
// others). Fixed windows: a quota's counter starts with its window's first request and expires with the window.
// KEYS: one counter per quota. ARGV: the points, then each quota's limit, window in seconds and the most it may take
// beyond the points for this replica's lease (QuotaLeases: at most a sixteenth of what is left). Returns, per quota, its
// count (this request's points and lease included where they were counted), the milliseconds left in its window and
// the points leased.
const CONSUME = `
local points = tonumber(ARGV[1])
local counts, refused = {}, false
for i, key in ipairs(KEYS) do
  counts[i] = tonumber(redis.call('get', key) or '0')
  if counts[i] + points > tonumber(ARGV[3 * i - 1]) then refused = true end
end
local out = {}
for i, key in ipairs(KEYS) do
  local limit, window, lease = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local ttl, extra = nil, 0
  if not refused or counts[i] + points > limit then
    if not refused and lease > 0 then extra = math.min(lease, math.floor((limit - counts[i] - points) / ${LEASE_SHARE})) end
    counts[i] = redis.call('incrby', key, points + extra)
    ttl = redis.call('pttl', key)
    if ttl < 0 then
      redis.call('expire', key, window)
      ttl = window * 1000
    end
  else
    ttl = redis.call('pttl', key)
    if ttl < 0 then ttl = window * 1000 end
  end
  out[3 * i - 2] = counts[i]
  out[3 * i - 1] = ttl
  out[3 * i] = extra
end
return out
`;

// The policies counted with leases: those on the path of every tools/call. The others (sign-in, OAuth endpoints, the
// admin API) are counted request by request.
const LEASED: ReadonlySet<RateLimitPolicy> = new Set(['tool-call']);

interface RateLimitCommands {
  gatehouseRateLimitConsume(keyCount: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
}

// Fixed-window counters in the shared Redis, so every replica counts against the same quota. No insurance
// limiter: when Redis is down the OAuth endpoints cannot work anyway (pending authorizations and sessions live
// there), so the error surfaces as a 5xx rather than a per-replica in-memory quota that would multiply the limits.
// Busy tools/call quotas are counted with leases (QuotaLeases): most of their requests need no round trip.
@Injectable()
export class RateLimiter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly policies: Record<RateLimitPolicy, readonly RateLimitRule[]>;
  // Each rule's key prefix; the keys are `<prefix>:rate-limit:<rule>:<partition value>`.
  private readonly prefixes = new Map<RateLimitRule, string>();
  private readonly client: Redis & RateLimitCommands & CounterCommands;
  private readonly leases = new QuotaLeases();
  private sweeping: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(redis: RedisService, platform: PlatformSettings) {
    this.policies = { ...RATE_LIMITS, ...principalRateLimits(platform.limits) };
    for (const rules of Object.values(this.policies) as (readonly RateLimitRule[])[]) {
      for (const rule of rules) this.prefixes.set(rule, `${redis.key('rate-limit', rule.name)}:`);
    }
    // Sent as EVALSHA, and as EVAL by ioredis the first time a Redis does not know the script.
    const client = redis.client as Redis & Partial<RateLimitCommands>;
    if (!client.gatehouseRateLimitConsume) client.defineCommand('gatehouseRateLimitConsume', { lua: CONSUME });
    this.client = withCounterCommands(client as Redis & RateLimitCommands);
  }

  /**
   * Counts `points` requests against the policy's quotas: against all of them when every one still has room (the
   * request is allowed), else only against those that refuse it.
   */
  consume(policy: RateLimitPolicy, subject: RateLimitSubject, points = 1): Promise<RateLimitResult[]> {
    return this.count(policy, subject, points, true, true);
  }

  // `again`: a request Redis refused may be counted once more, from what this process was granted meanwhile. `wait`:
  // a request may wait once for a grant on its way to this process instead of going to Redis itself.
  private async count(policy: RateLimitPolicy, subject: RateLimitSubject, points: number, again: boolean, wait: boolean): Promise<RateLimitResult[]> {
    const rules = this.policies[policy];
    if (rules.length === 0) return [];
    const keys = rules.map((rule) => this.key(rule, subject));
    const leased = LEASED.has(policy);
    // A monotonic clock: a wall clock set back would stretch a lease past its window.
    const now = performance.now();
    // Quotas whose lease here covers the request are counted here; the others in Redis, in one script.
    const local = keys.map((key) => (leased ? this.leases.take(key, points, now) : null));
    const sent = keys.flatMap((key, i) => (local[i] ? [] : [i]));
    if (sent.length === 0) return rules.map((rule, i) => result(rule, local[i]!.consumed, local[i]!.msBeforeNext));
    const grants = leased && wait ? sent.flatMap((i) => this.leases.pending(keys[i]!) ?? []) : [];
    if (grants.length > 0) {
      this.untake(keys, local);
      await Promise.all(grants);
      return this.count(policy, subject, points, again, false);
    }
    const asked = sent.map((i) => (leased ? this.leases.leaseFor(keys[i]!, now) : 0));
    const args: (string | number)[] = [points];
    sent.forEach((i, n) => args.push(rules[i]!.points, rules[i]!.windowSeconds, asked[n]!));
    let counts: number[];
    try {
      counts = await this.client.gatehouseRateLimitConsume(sent.length, ...sent.map((i) => keys[i]!), ...args);
    } catch (error) {
      this.untake(keys, local);
      sent.forEach((i, n) => asked[n] && this.leases.unanswered(keys[i]!));
      throw error;
    }
    const results: RateLimitResult[] = [];
    sent.forEach((i, n) => {
      const [count, msBeforeNext, extra] = [counts[3 * n]!, counts[3 * n + 1]!, counts[3 * n + 2]!];
      if (leased) this.leases.counted(keys[i]!, now, count, msBeforeNext, extra, asked[n]! > 0);
      results[i] = result(rules[i]!, count - extra, msBeforeNext);
    });
    // Refused: what was counted here is given back (a refused request counts only against the quotas that refuse it).
    const refused = results.some((quota) => !quota.allowed);
    if (refused) {
      this.untake(keys, local);
      // Another request's grant, answered while this one was on its way, may hold the points it was refused for: a
      // replica never refuses a request while it holds them (the refused count stays on the counter, as any refusal's).
      const later = performance.now();
      if (again && leased && sent.every((i) => results[i]!.allowed || this.leases.covers(keys[i]!, points, later))) {
        return this.count(policy, subject, points, false, false);
      }
    }
    local.forEach((count, i) => {
      if (count) results[i] = result(rules[i]!, refused ? count.values[0]! - 1 : count.consumed, count.msBeforeNext);
    });
    if (leased) this.sweepLater();
    return results;
  }

  // Gives back what this process took and did not use, so that other replicas can have it.
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.sweeping) clearTimeout(this.sweeping);
    this.sweeping = null;
    await this.giveBack(this.leases.sweep(performance.now(), true));
  }

  /** Gives back the points each of these results took (requests that turned out not to count), in their window. */
  async refund(results: readonly RateLimitResult[], subject: RateLimitSubject, points = 1): Promise<void> {
    await decrementExisting(this.client, results.map(({ rule }) => this.key(rule, subject)), points);
  }

  /** Forgets the rule's count for this subject, e.g. an account's failed sign-ins after a successful one. */
  async reset(rule: RateLimitRule, subject: RateLimitSubject): Promise<void> {
    await this.client.del(this.key(rule, subject));
  }

  private untake(keys: readonly string[], local: readonly (LeasedCount | null)[]): void {
    keys.forEach((key, i) => local[i] && this.leases.untake(key, local[i]));
  }

  // Only while there are leases: an idle gateway wakes for nothing.
  private sweepLater(): void {
    if (this.sweeping || this.stopped || this.leases.size === 0) return;
    this.sweeping = setTimeout(() => {
      this.sweeping = null;
      void this.giveBack(this.leases.sweep(performance.now())).finally(() => this.sweepLater());
    }, IDLE_MS).unref();
  }

  private async giveBack(unused: Map<string, number>): Promise<void> {
    try {
      await Promise.all([...unused].map(([key, points]) => decrementExisting(this.client, [key], points)));
    } catch (error) {
      // Not given back, the points stay counted until their window ends: fewer requests let through, never more.
      this.logger.warn({ err: error }, 'Could not give back unused rate-limit points');
    }
  }

  private key(rule: RateLimitRule, subject: RateLimitSubject): string {
    const prefix = this.prefixes.get(rule);
    if (prefix === undefined) throw new Error(`No rate limit ${rule.name}: rules must come from a policy of this RateLimiter`);
    return prefix + partitionKey(rule, subject);
  }
}

function result(rule: RateLimitRule, consumed: number, msBeforeNext: number): RateLimitResult {
  return {
    rule,
    allowed: consumed <= rule.points,
    limit: rule.points,
    remaining: Math.max(0, rule.points - consumed),
    consumed,
    resetSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)),
  };
}
