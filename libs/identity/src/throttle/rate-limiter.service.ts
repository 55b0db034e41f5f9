import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformSettings } from '@gatehouse/config';
import { ClusterBus, CounterCommands, decrementExisting, RedisService, withCounterCommands } from '@gatehouse/db';
import {
  partitionKey,
  principalRateLimits,
  RATE_LIMITS,
  RateLimitPolicy,
  RateLimitResult,
  RateLimitRule,
  RateLimitSubject,
} from './rate-limits';
import { IDLE_MS, LeasedCount, QuotaLeases } from './quota-leases';
import { CONSUME, GIVE_BACK } from './rate-limit-scripts';

// The policies counted with leases: those on the path of every tools/call. The others (sign-in, OAuth endpoints, the
// admin API) are counted request by request.
const LEASED: ReadonlySet<RateLimitPolicy> = new Set(['tool-call']);
// A request refused by a spent quota while other replicas hold a lease of it asks them (over the cluster bus) to give
// back what they have not used, and is counted again once they all have, or refused after RECLAIM_WAIT_MS: a replica
// that does not answer (stopped, cut off) holds its points until the window ends, and the key's next refusals do not
// wait for it again.
const RECLAIM_CHANNEL = 'quota-reclaim';
const RECLAIM_WAIT_MS = 2_000;
const RECLAIM_POLL_MS = 5;

/** The Redis keys of one rule's quotas, each followed by the partition value. */
interface QuotaKeys {
  counter: string;
  holders: string;
  returned: string;
}

/** What a request may still try before it is refused: see `RateLimiter.count`. */
interface Attempt {
  again: boolean;
  wait: boolean;
  reclaim: boolean;
}

interface RateLimitCommands {
  gatehouseRateLimitConsume(keyCount: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
  gatehouseRateLimitGiveBack(keyCount: number, ...keysAndArgs: (string | number)[]): Promise<number>;
}

// Fixed-window counters in the shared Redis, so every replica counts against the same quota. No insurance
// limiter: when Redis is down the OAuth endpoints cannot work anyway (pending authorizations and sessions live
// there), so the error surfaces as a 5xx rather than a per-replica in-memory quota that would multiply the limits.
// Busy tools/call quotas are counted with leases (QuotaLeases): most of their requests need no round trip.
@Injectable()
export class RateLimiter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly policies: Record<RateLimitPolicy, readonly RateLimitRule[]>;
  // Each rule's key prefixes; a quota's counter is `<prefix>:rate-limit:<rule>:<partition value>`.
  private readonly prefixes = new Map<RateLimitRule, QuotaKeys>();
  private readonly client: Redis & RateLimitCommands & CounterCommands;
  private readonly leases = new QuotaLeases();
  // This process among the replicas holding a lease of a quota.
  private readonly id = randomUUID();
  private readonly reclaims = new Map<string, Promise<void>>();
  // Quotas whose holders did not all answer a reclaim, until their window ends (performance.now()).
  private readonly unanswered = new Map<string, number>();
  private sweeping: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    redis: RedisService,
    platform: PlatformSettings,
    private readonly bus: ClusterBus,
  ) {
    this.policies = { ...RATE_LIMITS, ...principalRateLimits(platform.limits) };
    for (const rules of Object.values(this.policies) as (readonly RateLimitRule[])[]) {
      for (const rule of rules) {
        const prefix = (kind: string) => `${redis.key(kind, rule.name)}:`;
        this.prefixes.set(rule, { counter: prefix('rate-limit'), holders: prefix('rate-limit-holders'), returned: prefix('rate-limit-returned') });
      }
    }
    // Sent as EVALSHA, and as EVAL by ioredis the first time a Redis does not know the script.
    const client = redis.client as Redis & Partial<RateLimitCommands>;
    if (!client.gatehouseRateLimitConsume) client.defineCommand('gatehouseRateLimitConsume', { lua: CONSUME });
    if (!client.gatehouseRateLimitGiveBack) client.defineCommand('gatehouseRateLimitGiveBack', { lua: GIVE_BACK });
    this.client = withCounterCommands(client as Redis & RateLimitCommands);
  }

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(RECLAIM_CHANNEL, (payload, fromSelf) => {
      const key = (payload as { key?: unknown } | null)?.key;
      if (!fromSelf && typeof key === 'string') void this.surrender(key);
    });
  }

  /**
   * Counts `points` requests against the policy's quotas: against all of them when every one still has room (the
   * request is allowed), else only against those that refuse it.
   */
  consume(policy: RateLimitPolicy, subject: RateLimitSubject, points = 1): Promise<RateLimitResult[]> {
    return this.count(policy, subject, points, { again: true, wait: true, reclaim: true });
  }

  // Each of these at most once per request: `wait` for a grant on its way to this process instead of going to Redis;
  // `again`, refused, be counted from what this process was granted meanwhile; `reclaim`, refused, be counted again
  // once the other replicas holding a lease of the quota gave back what they did not use.
  private async count(policy: RateLimitPolicy, subject: RateLimitSubject, points: number, attempt: Attempt): Promise<RateLimitResult[]> {
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
    const grants = leased && attempt.wait ? sent.flatMap((i) => this.leases.pending(keys[i]!) ?? []) : [];
    if (grants.length > 0) {
      this.untake(keys, local);
      await Promise.all(grants);
      return this.count(policy, subject, points, { ...attempt, wait: false });
    }
    const asked = sent.map((i) => (leased ? this.leases.leaseFor(keys[i]!, now) : 0));
    const scriptKeys = sent.flatMap((i) => {
      const { counter, holders, returned } = this.quotaKeys(rules[i]!, partitionKey(rules[i]!, subject));
      return [counter, holders, returned];
    });
    // A refusal may be held for a reclaim once per request, and not on a quota whose holders did not answer the last.
    const hold = leased && attempt.reclaim && sent.every((i) => (this.unanswered.get(keys[i]!) ?? 0) <= now);
    const args: (string | number)[] = [points, this.id, hold ? 1 : 0];
    sent.forEach((i, n) => args.push(rules[i]!.points, rules[i]!.windowSeconds, asked[n]!));
    let counts: number[];
    try {
      counts = await this.client.gatehouseRateLimitConsume(scriptKeys.length, ...scriptKeys, ...args);
    } catch (error) {
      this.untake(keys, local);
      sent.forEach((i, n) => asked[n] && this.leases.unanswered(keys[i]!));
      throw error;
    }
    const results: RateLimitResult[] = [];
    const held: number[] = [];
    sent.forEach((i, n) => {
      const [count, msBeforeNext, extra, holders] = [counts[4 * n]!, counts[4 * n + 1]!, counts[4 * n + 2]!, counts[4 * n + 3]!];
      if (leased) this.leases.counted(keys[i]!, now, count, msBeforeNext, extra, asked[n]! > 0);
      results[i] = result(rules[i]!, count - extra, msBeforeNext);
      if (holders > 0) held.push(i);
    });
    // Refused: what was counted here is given back (a refused request counts only against the quotas that refuse it).
    const refused = results.some((quota) => !quota.allowed);
    if (refused) {
      this.untake(keys, local);
      // Another request's grant, answered while this one was on its way, may hold the points it was refused for: a
      // replica never refuses a request while it holds them (a refusal counted on the counter stays there, as any does).
      const later = performance.now();
      if (attempt.again && leased && sent.every((i) => results[i]!.allowed || this.leases.covers(keys[i]!, points, later))) {
        return this.count(policy, subject, points, { ...attempt, again: false, wait: false });
      }
      // Held, counted nowhere: counted again once the replicas holding leases of its quotas gave back what they did not
      // use (or did not answer in time).
      if (held.length > 0) {
        await Promise.all(held.map((i) => this.reclaim(keys[i]!, later + results[i]!.resetSeconds * 1000)));
        return this.count(policy, subject, points, { again: false, wait: false, reclaim: false });
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

  // One reclaim of a quota at a time here: the requests it refuses meanwhile wait for the same one.
  private reclaim(key: string, windowEndsAt: number): Promise<void> {
    let running = this.reclaims.get(key);
    if (!running) {
      running = this.askHolders(key, windowEndsAt).finally(() => this.reclaims.delete(key));
      this.reclaims.set(key, running);
    }
    return running;
  }

  private async askHolders(key: string, windowEndsAt: number): Promise<void> {
    const quota = this.quotaOf(key);
    if (!quota) return;
    try {
      // This process gives back its own first (fewer points than the request's, or none: it was refused).
      await this.surrender(key);
      await this.bus.publish(RECLAIM_CHANNEL, { key });
      const deadline = performance.now() + RECLAIM_WAIT_MS;
      while ((await this.client.scard(quota.holders)) > 0) {
        if (performance.now() >= deadline) {
          this.unanswered.set(key, windowEndsAt);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, RECLAIM_POLL_MS));
      }
    } catch (error) {
      // The request is refused, as it would have been without asking.
      this.logger.warn({ err: error }, 'Could not ask the other replicas for the unused points of a spent quota');
    }
  }

  // A reclaim of a quota this process may hold a lease of: its unused values go back (a grant on its way first).
  private async surrender(key: string): Promise<void> {
    await this.leases.pending(key);
    const values = this.leases.surrender(key, performance.now());
    if (values) await this.giveBack(new Map([[key, values]]), true);
  }

  // Only while there are leases: an idle gateway wakes for nothing.
  private sweepLater(): void {
    if (this.sweeping || this.stopped || this.leases.size === 0) return;
    this.sweeping = setTimeout(() => {
      this.sweeping = null;
      const now = performance.now();
      for (const [key, windowEndsAt] of this.unanswered) if (now >= windowEndsAt) this.unanswered.delete(key);
      void this.giveBack(this.leases.sweep(now)).finally(() => this.sweepLater());
    }, IDLE_MS).unref();
  }

  // `reclaimed`: to the values requests on a spent quota take, never to the counter (see GIVE_BACK).
  private async giveBack(unused: Map<string, number[]>, reclaimed = false): Promise<void> {
    try {
      await Promise.all(
        [...unused].flatMap(([key, values]) => {
          const quota = this.quotaOf(key);
          return quota ? [this.client.gatehouseRateLimitGiveBack(3, key, quota.holders, quota.returned, this.id, quota.rule.points, reclaimed ? 1 : 0, ...values)] : [];
        }),
      );
    } catch (error) {
      // Not given back, the points stay counted until their window ends: fewer requests let through, never more.
      this.logger.warn({ err: error }, 'Could not give back unused rate-limit points');
    }
  }

  /** The leased quota whose counter this key is, with its other keys; undefined for any other key. */
  private quotaOf(key: string): (QuotaKeys & { rule: RateLimitRule }) | undefined {
    for (const policy of LEASED) {
      for (const rule of this.policies[policy]) {
        const { counter } = this.prefixesOf(rule);
        if (key.startsWith(counter)) return { rule, ...this.quotaKeys(rule, key.slice(counter.length)) };
      }
    }
    return undefined;
  }

  // A quota's counter: on every request, so a string and nothing more.
  private key(rule: RateLimitRule, subject: RateLimitSubject): string {
    return this.prefixesOf(rule).counter + partitionKey(rule, subject);
  }

  /** A quota's keys: its counter, the replicas holding a lease of it, the values given back once it was spent. */
  private quotaKeys(rule: RateLimitRule, partition: string): QuotaKeys {
    const prefixes = this.prefixesOf(rule);
    return { counter: prefixes.counter + partition, holders: prefixes.holders + partition, returned: prefixes.returned + partition };
  }

  private prefixesOf(rule: RateLimitRule): QuotaKeys {
    const prefixes = this.prefixes.get(rule);
    if (prefixes === undefined) throw new Error(`No rate limit ${rule.name}: rules must come from a policy of this RateLimiter`);
    return prefixes;
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
