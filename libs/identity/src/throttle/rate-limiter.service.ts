import { Injectable } from '@nestjs/common';
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

// Every quota of a request in one script, so one command and one round trip whatever their number, and atomic: a
// request counts against every quota when all of them have room, else only against those it is refused by (a
// credential's refused flood must not spend its organization's quota, nor one client's the address's it shares with
// others). Fixed windows: a quota's counter starts with its window's first request and expires with the window.
// KEYS: one counter per quota. ARGV: the points, then each quota's limit and window in seconds. Returns, per quota,
// its count (this request's points included where they were counted) and the milliseconds left in its window.
const CONSUME = `
local points = tonumber(ARGV[1])
local counts, refused = {}, false
for i, key in ipairs(KEYS) do
  counts[i] = tonumber(redis.call('get', key) or '0')
  if counts[i] + points > tonumber(ARGV[2 * i]) then refused = true end
end
local out = {}
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 * i + 1])
  local ttl
  if not refused or counts[i] + points > tonumber(ARGV[2 * i]) then
    counts[i] = redis.call('incrby', key, points)
    ttl = redis.call('pttl', key)
    if ttl < 0 then
      redis.call('expire', key, window)
      ttl = window * 1000
    end
  else
    ttl = redis.call('pttl', key)
    if ttl < 0 then ttl = window * 1000 end
  end
  out[2 * i - 1] = counts[i]
  out[2 * i] = ttl
end
return out
`;

interface RateLimitCommands {
  gatehouseRateLimitConsume(keyCount: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
}

// Fixed-window counters in the shared Redis, so every replica counts against the same quota. No insurance
// limiter: when Redis is down the OAuth endpoints cannot work anyway (pending authorizations and sessions live
// there), so the error surfaces as a 5xx rather than a per-replica in-memory quota that would multiply the limits.
@Injectable()
export class RateLimiter {
  private readonly policies: Record<RateLimitPolicy, readonly RateLimitRule[]>;
  // Each rule's key prefix; the keys are `<prefix>:rate-limit:<rule>:<partition value>`.
  private readonly prefixes = new Map<RateLimitRule, string>();
  // Each policy's quotas as the script's arguments after the points: limit and window of each rule, in order.
  private readonly quotas = new Map<RateLimitPolicy, (string | number)[]>();
  private readonly client: Redis & RateLimitCommands & CounterCommands;

  constructor(redis: RedisService, platform: PlatformSettings) {
    this.policies = { ...RATE_LIMITS, ...principalRateLimits(platform.limits) };
    for (const [policy, rules] of Object.entries(this.policies) as [RateLimitPolicy, readonly RateLimitRule[]][]) {
      for (const rule of rules) this.prefixes.set(rule, `${redis.key('rate-limit', rule.name)}:`);
      this.quotas.set(policy, rules.flatMap((rule) => [rule.points, rule.windowSeconds]));
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
  async consume(policy: RateLimitPolicy, subject: RateLimitSubject, points = 1): Promise<RateLimitResult[]> {
    const rules = this.policies[policy];
    if (rules.length === 0) return [];
    const keys = rules.map((rule) => this.key(rule, subject));
    const counts = await this.client.gatehouseRateLimitConsume(keys.length, ...keys, points, ...this.quotas.get(policy)!);
    return rules.map((rule, i) => result(rule, counts[2 * i]!, counts[2 * i + 1]!));
  }

  /** Gives back the points each of these results took (requests that turned out not to count), in their window. */
  async refund(results: readonly RateLimitResult[], subject: RateLimitSubject, points = 1): Promise<void> {
    await decrementExisting(this.client, results.map(({ rule }) => this.key(rule, subject)), points);
  }

  /** Forgets the rule's count for this subject, e.g. an account's failed sign-ins after a successful one. */
  async reset(rule: RateLimitRule, subject: RateLimitSubject): Promise<void> {
    await this.client.del(this.key(rule, subject));
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
