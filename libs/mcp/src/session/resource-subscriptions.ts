import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ErrorCode as RpcErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionRegistry, ConnectionRuntime } from '@gatehouse/connections';
import { ClusterBus } from '@gatehouse/db';
import { ProtocolError } from '../tools/protocol-error';
import type { ResolvedUri } from './content-catalog';

/** A hostile client must not make the gateway hold (and the downstream serve) subscriptions without bound. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 100;

/** What one upstream session subscribed to: plain data, so the ledger can move to Redis when sessions do. */
export interface SessionSubscription {
  connectionId: string;
  /** The downstream's URI. */
  uri: string;
  /** The URI as the session was shown it (its door's view): what its notifications name. */
  exposed: string;
}

const UNSUBSCRIBES = 'mcp.resource-unsubscribes';

interface Unsubscribe {
  sessionId: string;
  exposed: string;
}

/** Sends notifications/resources/updated to one session. */
export type UpdateSender = (exposedUri: string) => Promise<void>;

// Which upstream session holds which subscription, in the replica that served its resources/subscribe (which holds
// the downstream subscription). The methods are what a shared store (Redis sets per session and per connection+URI) would offer.
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

// resources/subscribe and resources/unsubscribe of upstream sessions, and the relay of the downstreams'
// notifications/resources/updated to the sessions that subscribed (with the URI each was shown). Downstream, each
// connection+URI is subscribed once however many sessions hold it (DownstreamSubscriptions); a session that ends lets
// go of all it held. The replica that served a subscribe keeps it (and the downstream's): its updates reach the
// session's GET stream on whichever replica holds it (SessionOutbox); it ends with that replica.
@Injectable()
export class ResourceSubscriptions implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ResourceSubscriptions.name);
  private readonly ledger = new SubscriptionLedger();
  private readonly senders = new Map<string, UpdateSender>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly bus: ClusterBus,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = this.registry.onResourceUpdated((runtime, uri) => this.relay(runtime, uri));
    await this.bus.subscribe(UNSUBSCRIBES, (payload, fromSelf) => {
      const { sessionId, exposed } = payload as Unsubscribe;
      if (!fromSelf) this.release(sessionId, exposed);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  async subscribe(sessionId: string, send: UpdateSender, resolved: ResolvedUri, signal: AbortSignal): Promise<void> {
    if (this.ledger.has(sessionId, resolved.exposed)) return;
    if (this.ledger.count(sessionId) >= MAX_SUBSCRIPTIONS_PER_SESSION) {
      throw new ProtocolError(RpcErrorCode.InvalidParams, `A session holds at most ${MAX_SUBSCRIPTIONS_PER_SESSION} resource subscriptions; unsubscribe from one first`);
    }
    const subscriptions = resolved.runtime.subscriptions;
    await subscriptions.acquire(resolved.downstream, signal);
    // The session may have subscribed again meanwhile: hold the downstream subscription once per session.
    if (this.ledger.has(sessionId, resolved.exposed)) return subscriptions.release(resolved.downstream);
    this.senders.set(sessionId, send);
    this.ledger.add(sessionId, { connectionId: resolved.runtime.id, uri: resolved.downstream, exposed: resolved.exposed });
  }

  /**
   * True when the session held the subscription on this replica; one held on another (the session subscribed there)
   * is let go there, told over the cluster bus.
   */
  async unsubscribeSession(sessionId: string, exposed: string): Promise<boolean> {
    if (this.release(sessionId, exposed)) return true;
    await this.bus.publish(UNSUBSCRIBES, { sessionId, exposed } satisfies Unsubscribe);
    return false;
  }

  private release(sessionId: string, exposed: string): boolean {
    const subscription = this.ledger.remove(sessionId, exposed);
    if (!subscription) return false;
    this.registry.runtime(subscription.connectionId)?.subscriptions.release(subscription.uri);
    if (this.ledger.count(sessionId) === 0) this.senders.delete(sessionId);
    return true;
  }

  /** The session ended: everything it held is let go. */
  endSession(sessionId: string): void {
    for (const subscription of this.ledger.drop(sessionId)) this.registry.runtime(subscription.connectionId)?.subscriptions.release(subscription.uri);
    this.senders.delete(sessionId);
  }

  private relay(runtime: ConnectionRuntime, uri: string): void {
    for (const [sessionId, exposed] of this.ledger.holders(runtime.id, uri)) {
      this.senders.get(sessionId)?.(exposed).catch((error: unknown) => this.logger.debug({ err: error }, 'Could not relay a resource update'));
    }
  }
}
