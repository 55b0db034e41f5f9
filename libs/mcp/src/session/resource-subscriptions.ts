import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ErrorCode as RpcErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionRegistry, ConnectionRuntime } from '@gatehouse/connections';
import { ClusterBus, RedisService } from '@gatehouse/db';
import { ProtocolError } from '../tools/protocol-error';
import type { ResolvedUri } from './content-catalog';
import { SessionOutbox } from './session-outbox';

/** A hostile client must not make the gateway hold (and the downstream serve) subscriptions without bound. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 100;

/** What one upstream session subscribed to. */
export interface SessionSubscription {
  connectionId: string;
  /** The downstream's URI. */
  uri: string;
  /** The URI as the session was shown it (its door's view): what its notifications name. */
  exposed: string;
  /** Held until the replica holding the session's stream takes it up (served the subscribe, or held the stream). */
  interim?: boolean;
}

// Which upstream session holds which downstream subscription in this replica (the one holding its GET stream).
class SubscriptionLedger {
  private readonly bySession = new Map<string, Map<string, SessionSubscription>>();
  private readonly byResource = new Map<string, Map<string, string>>();

  count(sessionId: string): number {
    return this.bySession.get(sessionId)?.size ?? 0;
  }

  has(sessionId: string, exposed: string): boolean {
    return this.bySession.get(sessionId)?.has(exposed) ?? false;
  }

  add(sessionId: string, subscription: SessionSubscription): void {
    const own = this.bySession.get(sessionId) ?? new Map<string, SessionSubscription>();
    own.set(subscription.exposed, subscription);
    this.bySession.set(sessionId, own);
    const key = resourceKey(subscription.connectionId, subscription.uri);
    const holders = this.byResource.get(key) ?? new Map<string, string>();
    holders.set(sessionId, subscription.exposed);
    this.byResource.set(key, holders);
  }

  remove(sessionId: string, exposed: string): SessionSubscription | null {
    const own = this.bySession.get(sessionId);
    const subscription = own?.get(exposed);
    if (!own || !subscription) return null;
    own.delete(exposed);
    if (own.size === 0) this.bySession.delete(sessionId);
    const key = resourceKey(subscription.connectionId, subscription.uri);
    const holders = this.byResource.get(key);
    holders?.delete(sessionId);
    if (holders?.size === 0) this.byResource.delete(key);
    return subscription;
  }

  of(sessionId: string): SessionSubscription[] {
    return [...(this.bySession.get(sessionId)?.values() ?? [])];
  }

  drop(sessionId: string): SessionSubscription[] {
    const all = [...(this.bySession.get(sessionId)?.values() ?? [])];
    for (const subscription of all) this.remove(sessionId, subscription.exposed);
    return all;
  }

  /** Each session subscribed to the downstream URI, with the URI it was shown. */
  holders(connectionId: string, uri: string): [sessionId: string, exposed: string][] {
    return [...(this.byResource.get(resourceKey(connectionId, uri))?.entries() ?? [])];
  }
}

function resourceKey(connectionId: string, uri: string): string {
  return `${connectionId}\n${uri}`;
}

const CHANGED = 'mcp.resource-subscriptions';
const TAKEN = 'mcp.resource-subscriptions-taken';
// The set outlives a session whose end no replica recorded (all that served it stopped) by this much at most.
const SET_TTL_SECONDS = 7 * 86_400;

interface Stored {
  connectionId: string;
  uri: string;
}

// resources/subscribe and resources/unsubscribe of upstream sessions, and the relay of the downstreams'
// notifications/resources/updated to the sessions that subscribed (with the URI each was shown). What a session
// subscribed to is kept in Redis (a hash per session, `<prefix>:mcp:subscriptions:<id>`, exposed URI -> connection and
// downstream URI), written by whichever replica served the request; the replica holding the session's GET stream holds
// the downstream subscriptions (SubscriptionLedger) and appends the updates to the session's outbox. When that replica
// dies and the client's stream reconnects elsewhere, the new holder takes them up from the hash. Downstream, each
// connection+URI is subscribed once per replica however many sessions hold it (DownstreamSubscriptions).
@Injectable()
export class ResourceSubscriptions implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ResourceSubscriptions.name);
  private readonly ledger = new SubscriptionLedger();
  /** One reconciliation at a time per session, in order. */
  private readonly following = new Map<string, Promise<void>>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly bus: ClusterBus,
    private readonly redis: RedisService,
    private readonly outbox: SessionOutbox,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = this.registry.onResourceUpdated((runtime, uri) => this.relay(runtime, uri));
    await this.bus.subscribe(CHANGED, (payload) => this.follow((payload as { sessionId: string }).sessionId));
    // The stream's holder holds them now: a replica that held some for the session in the meantime lets go.
    await this.bus.subscribe(TAKEN, (payload, fromSelf) => {
      const { sessionId } = payload as { sessionId: string };
      if (fromSelf) return;
      for (const held of this.ledger.of(sessionId)) if (held.interim) this.release(sessionId, held.exposed);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  async subscribe(sessionId: string, resolved: ResolvedUri, signal: AbortSignal): Promise<void> {
    const key = this.keyOf(sessionId);
    if ((await this.redis.client.hexists(key, resolved.exposed)) === 1) return;
    if ((await this.redis.client.hlen(key)) >= MAX_SUBSCRIPTIONS_PER_SESSION) {
      throw new ProtocolError(RpcErrorCode.InvalidParams, `A session holds at most ${MAX_SUBSCRIPTIONS_PER_SESSION} resource subscriptions; unsubscribe from one first`);
    }
    // Subscribed here first, so that the downstream's refusal is the client's answer; the stream's holder keeps it.
    const subscriptions = resolved.runtime.subscriptions;
    await subscriptions.acquire(resolved.downstream, signal);
    try {
      await this.redis.client.hset(key, resolved.exposed, JSON.stringify({ connectionId: resolved.runtime.id, uri: resolved.downstream } satisfies Stored));
      await this.redis.client.expire(key, SET_TTL_SECONDS);
    } catch (error) {
      subscriptions.release(resolved.downstream);
      throw error;
    }
    // Held here until the replica holding the session's stream took it up: no update falls between the two.
    if (this.ledger.has(sessionId, resolved.exposed)) subscriptions.release(resolved.downstream);
    else this.ledger.add(sessionId, { connectionId: resolved.runtime.id, uri: resolved.downstream, exposed: resolved.exposed, interim: !this.outbox.holds(sessionId) });
    await this.bus.publish(CHANGED, { sessionId });
  }

  /** True when the session held the subscription (on any replica: each lets go of what the session no longer holds). */
  async unsubscribeSession(sessionId: string, exposed: string): Promise<boolean> {
    const held = (await this.redis.client.hdel(this.keyOf(sessionId), exposed)) === 1;
    if (held) await this.bus.publish(CHANGED, { sessionId });
    return held;
  }

  /** Holds downstream what the session subscribed to while its GET stream is here (and after, until another takes it up). */
  follow(sessionId: string): void {
    const previous = this.following.get(sessionId) ?? Promise.resolve();
    const next = previous
      .then(() => this.reconcile(sessionId))
      .catch((error: unknown) => this.logger.warn({ err: error, session: sessionId }, 'Could not take up the subscriptions of a session'))
      .finally(() => {
        if (this.following.get(sessionId) === next) this.following.delete(sessionId);
      });
    this.following.set(sessionId, next);
  }

  /** The session ended: everything it held is let go, here and in Redis. */
  endSession(sessionId: string): void {
    for (const subscription of this.ledger.drop(sessionId)) this.registry.runtime(subscription.connectionId)?.subscriptions.release(subscription.uri);
    this.redis.client.del(this.keyOf(sessionId)).catch((error: unknown) => this.logger.warn({ err: error }, 'Could not drop the subscriptions of a session'));
  }

  private async reconcile(sessionId: string): Promise<void> {
    const holder = this.outbox.holds(sessionId);
    const wanted = await this.stored(sessionId);
    for (const held of this.ledger.of(sessionId)) {
      // A stream that closed here leaves its subscriptions held (interim) until another replica's stream takes them up.
      if (!wanted.has(held.exposed)) this.release(sessionId, held.exposed);
      else held.interim = !holder;
    }
    if (!holder) return;
    for (const [exposed, { connectionId, uri }] of wanted) {
      const runtime = this.registry.runtime(connectionId);
      if (this.ledger.has(sessionId, exposed) || !runtime) continue;
      try {
        await runtime.subscriptions.acquire(uri);
      } catch (error) {
        this.logger.warn({ err: error, session: sessionId }, 'A downstream refused a subscription the session holds');
        continue;
      }
      this.ledger.add(sessionId, { connectionId, uri, exposed });
    }
    await this.bus.publish(TAKEN, { sessionId });
  }

  private async stored(sessionId: string): Promise<Map<string, Stored>> {
    const entries = await this.redis.client.hgetall(this.keyOf(sessionId));
    const wanted = new Map<string, Stored>();
    for (const [exposed, value] of Object.entries(entries)) {
      try {
        const { connectionId, uri } = JSON.parse(value) as Partial<Stored>;
        if (typeof connectionId === 'string' && typeof uri === 'string') wanted.set(exposed, { connectionId, uri });
      } catch {
        // Not ours: skipped.
      }
    }
    return wanted;
  }

  private release(sessionId: string, exposed: string): void {
    const subscription = this.ledger.remove(sessionId, exposed);
    if (subscription) this.registry.runtime(subscription.connectionId)?.subscriptions.release(subscription.uri);
  }

  private relay(runtime: ConnectionRuntime, uri: string): void {
    for (const [sessionId, exposed] of this.ledger.holders(runtime.id, uri)) {
      this.outbox
        .append(sessionId, { method: 'notifications/resources/updated', params: { uri: exposed } })
        .catch((error: unknown) => this.logger.debug({ err: error }, 'Could not relay a resource update'));
    }
  }

  private keyOf(sessionId: string): string {
    return this.redis.key('mcp', 'subscriptions', sessionId);
  }
}
