// A replica's share of busy quotas, so that most requests on them are counted without a Redis round trip.
//
// The quota's counter in Redis counts what replicas took, not what they used: a replica taking a request's points
// from a quota whose key is busy here (it went to Redis less than `IDLE_MS` ago) also takes a few points more (at
// most `MAX_LEASE`, and a sixteenth of what the quota has left, so near its limit a quota is counted request by
// request again), and counts its next requests against them in this process until they run out or the window ends.
// Nothing is ever let through that the counter did not count; what a replica took and did not use is given back once
// the key has been idle here for `IDLE_MS` (or when the process stops), so that other replicas can have it.
//
// A replica asks for one grant at a time per key: while one is on its way, the key's other requests wait for it and
// are counted from it, and those it does not cover go to Redis for their own points. Asking with each of many requests
// in flight would leave the replica holding many grants when its burst ends, which another replica's burst would then
// find missing from the quota until it reclaims them (below): one grant, a sixteenth of what was left when it was
// asked, bounds what a replica can hold. Waiting rather than going to Redis keeps a busy key at about one round trip per
// grant however many requests are in flight and however far Redis is. The requests that went to Redis while a grant
// was on its way, and found the quota spent by it, are counted from the grant instead of refused: a replica never
// refuses a request while it holds the points for it.
//
// A lease is the counter's values it was granted (INCRBY hands each grant values of its own): a request counted here
// takes the lowest, and reports it as its count, so requests on every replica report distinct counts, as if each had
// gone to Redis.
//
// A replica refused because the quota is spent asks the replicas holding a grant of it to surrender what they have
// not used (RateLimiter's reclaim), so that the quota is filled exactly: until its window ends, a replica that was
// granted points of a key answers for it, with the values it still holds, or none.

/** At most this many points are taken beyond a request's. */
export const MAX_LEASE = 64;
/** ...and at most this share of what the quota has left: a lease is 1/LEASE_SHARE of it. */
export const LEASE_SHARE = 16;
/** A key used less recently than this is not busy: its next request is counted in Redis alone, taking no lease. */
export const IDLE_MS = 1_000;
// What is given back must reach Redis while the window still holds: a key whose window ends sooner keeps it.
const GIVE_BACK_BEFORE_END_MS = 1_000;
// Two answers of one window put its end apart by the difference of their delays (milliseconds); the next window ends
// a whole window (at least a second) later.
const SAME_WINDOW_MS = 500;

interface Lease {
  /** The counter's values granted here and not used yet, lowest first. */
  values: number[];
  /** When the window ends, by this process's monotonic clock, at the earliest (measured from before the command was sent). */
  windowEndsAt: number;
  /** The latest request on this key here (counted locally, or sent to Redis). */
  usedAt: number;
}

/** A grant on its way to this process: `answered` settles `done` once Redis answered, or failed to. */
interface Ask {
  done: Promise<void>;
  answered: () => void;
}

/** A request counted against a lease: the count it reports, the values it took, and when the window ends. */
export interface LeasedCount {
  consumed: number;
  values: number[];
  msBeforeNext: number;
}

export class QuotaLeases {
  private readonly leases = new Map<string, Lease>();
  private readonly asks = new Map<string, Ask>();
  /** Keys this process was granted points of, until their window ends: it answers a reclaim of them. */
  private readonly granted = new Map<string, number>();

  /** Takes `points` from the key's lease, or null when the lease cannot cover them. */
  take(key: string, points: number, now: number): LeasedCount | null {
    const lease = this.current(key, now);
    if (!lease || lease.values.length < points) return null;
    const values = lease.values.splice(0, points);
    lease.usedAt = now;
    return { consumed: values[values.length - 1]!, values, msBeforeNext: lease.windowEndsAt - now };
  }

  /** Whether the key's lease holds `points` now. */
  covers(key: string, points: number, now: number): boolean {
    return (this.current(key, now)?.values.length ?? 0) >= points;
  }

  /** Puts back what `take` took for a request that another quota refused. */
  untake(key: string, taken: LeasedCount): void {
    const lease = this.leases.get(key);
    if (lease) lease.values = [...taken.values, ...lease.values].sort((a, b) => a - b);
  }

  /**
   * The most to ask beyond a request's points for this key: none unless it is busy here and no grant is on its way.
   * A request that asks must be answered with `counted(..., true)` or, when Redis did not answer, `unanswered`.
   */
  leaseFor(key: string, now: number): number {
    const lease = this.current(key, now);
    if (!lease || this.asks.has(key) || now - lease.usedAt >= IDLE_MS) return 0;
    let answered = () => {};
    const done = new Promise<void>((resolve) => (answered = resolve));
    this.asks.set(key, { done, answered });
    return MAX_LEASE;
  }

  /** The grant on its way for this key, if one is: settled once it is counted here or its request failed. */
  pending(key: string): Promise<void> | undefined {
    return this.asks.get(key)?.done;
  }

  /** The request that asked for a grant failed: the key's next request may ask. */
  unanswered(key: string): void {
    this.answer(key);
  }

  /**
   * What Redis answered for a request counted there, sent at `sentAt`: `counted` is the counter after it, `extra`
   * the points it took beyond the request's (the counter's top values); `asked` when it asked for them.
   */
  counted(key: string, sentAt: number, counted: number, msBeforeNext: number, extra: number, asked: boolean): void {
    const windowEndsAt = sentAt + msBeforeNext;
    const values = Array.from({ length: extra }, (_, i) => counted - extra + 1 + i);
    const lease = this.current(key, sentAt);
    // A grant of the same window adds to the lease; the next window's replaces it (what was left belonged to the
    // window that ended).
    if (extra > 0) this.granted.set(key, windowEndsAt);
    if (lease && windowEndsAt - lease.windowEndsAt < SAME_WINDOW_MS) {
      if (values.length) lease.values = [...lease.values, ...values].sort((a, b) => a - b);
      lease.windowEndsAt = Math.min(lease.windowEndsAt, windowEndsAt);
      lease.usedAt = sentAt;
    } else {
      this.leases.set(key, { values, windowEndsAt, usedAt: sentAt });
    }
    if (asked) this.answer(key);
  }

  /**
   * Forgets keys idle for `IDLE_MS` (all of them with `everything`) and keys whose window ended; returns the values
   * to give back to the counters of those still in their window (with `everything`, every key granted here in its
   * window, with no values when none are left: this process stops answering for them).
   */
  sweep(now: number, everything = false): Map<string, number[]> {
    const giveBack = new Map<string, number[]>();
    for (const [key, lease] of this.leases) {
      if (!everything && now - lease.usedAt < IDLE_MS && now < lease.windowEndsAt) continue;
      this.leases.delete(key);
      if (lease.values.length > 0 && now < lease.windowEndsAt - GIVE_BACK_BEFORE_END_MS) {
        giveBack.set(key, lease.values);
        this.granted.delete(key);
      }
    }
    for (const [key, windowEndsAt] of this.granted) {
      if (everything && now < windowEndsAt && !giveBack.has(key)) giveBack.set(key, []);
      if (everything || now >= windowEndsAt) this.granted.delete(key);
    }
    return giveBack;
  }

  /**
   * A reclaim of this key: the values of its lease, which this process stops using (none when it holds none), or null
   * when it was granted no points of the key in the window still running.
   */
  surrender(key: string, now: number): number[] | null {
    const windowEndsAt = this.granted.get(key);
    this.granted.delete(key);
    if (windowEndsAt === undefined || now >= windowEndsAt) return null;
    const values = this.current(key, now)?.values ?? [];
    this.leases.delete(key);
    return values;
  }

  get size(): number {
    return this.leases.size;
  }

  private answer(key: string): void {
    const ask = this.asks.get(key);
    this.asks.delete(key);
    ask?.answered();
  }

  private current(key: string, now: number): Lease | undefined {
    const lease = this.leases.get(key);
    if (lease && now >= lease.windowEndsAt) {
      this.leases.delete(key);
      return undefined;
    }
    return lease;
  }
}
