import { Injectable } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PlatformSettings } from '@gatehouse/config';
import { RedisService } from '@gatehouse/db';
import {
  partitionKey,
  principalRateLimits,
  RATE_LIMITS,
  RateLimitPolicy,
  RateLimitResult,
  RateLimitRule,
  RateLimitSubject,
} from './rate-limits';

// Fixed-window counters in the shared Redis, so every replica counts against the same quota. No insurance
// limiter: when Redis is down the OAuth endpoints cannot work anyway (pending authorizations and sessions live
// there), so the error surfaces as a 5xx rather than a per-replica in-memory quota that would multiply the limits.
// The quotas of one request are counted by commands sent in the same tick, which the connection's auto-pipelining
// sends together: one round trip to Redis whatever the number of quotas.
@Injectable()
export class RateLimiter {
  private readonly policies: Record<RateLimitPolicy, readonly RateLimitRule[]>;
  private readonly limiters = new Map<RateLimitRule, RateLimiterRedis>();

  constructor(redis: RedisService, platform: PlatformSettings) {
    this.policies = { ...RATE_LIMITS, ...principalRateLimits(platform.limits) };
    for (const rule of Object.values(this.policies).flat()) {
      this.limiters.set(
        rule,
        new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix: redis.key('rate-limit', rule.name),
          points: rule.points,
          duration: rule.windowSeconds,
        }),
      );
    }
  }

  /** Counts `points` requests against every quota of the policy; allowed only if all of them still had room. */
  consume(policy: RateLimitPolicy, subject: RateLimitSubject, points = 1): Promise<RateLimitResult[]> {
    return Promise.all(
      this.policies[policy].map(async (rule) => {
        try {
          return result(rule, true, await this.limiter(rule).consume(partitionKey(rule, subject), points));
        } catch (error) {
          // rate-limiter-flexible rejects with its result when the quota is exhausted, with an Error when Redis fails.
          if (error instanceof RateLimiterRes) return result(rule, false, error);
          throw error;
        }
      }),
    );
  }

  /** Gives back the points each of these results took (requests that turned out not to count). */
  async refund(results: readonly RateLimitResult[], subject: RateLimitSubject, points = 1): Promise<void> {
    await Promise.all(results.map(({ rule }) => this.limiter(rule).reward(partitionKey(rule, subject), points)));
  }

  /** Forgets the rule's count for this subject, e.g. an account's failed sign-ins after a successful one. */
  async reset(rule: RateLimitRule, subject: RateLimitSubject): Promise<void> {
    await this.limiter(rule).delete(partitionKey(rule, subject));
  }

  private limiter(rule: RateLimitRule): RateLimiterRedis {
    const limiter = this.limiters.get(rule);
    if (!limiter) throw new Error(`No rate limiter for ${rule.name}: rules must come from a policy of this RateLimiter`);
    return limiter;
  }
}

function result(rule: RateLimitRule, allowed: boolean, res: RateLimiterRes): RateLimitResult {
  return {
    rule,
    allowed,
    limit: rule.points,
    remaining: Math.max(0, res.remainingPoints),
    consumed: res.consumedPoints,
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  };
}
