import { Logger } from '@nestjs/common';
import { EmptyResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { DownstreamClient } from '../downstream/downstream-client';
import { describeError } from '../downstream/downstream.errors';

// The gateway's subscriptions to one downstream's resources: one downstream subscription per URI however many upstream
// sessions hold it (reference counted in this process), dropped when the last lets go, and renewed when the
// downstream session is new (a reconnect forgets them). Which sessions hold which is the upstream side's business.
export class DownstreamSubscriptions {
  private readonly logger: Logger;
  private readonly holders = new Map<string, number>();
  // A first subscribe under way: later holders wait for it, so a failure reaches them too.
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    connection: string,
    private readonly client: DownstreamClient,
  ) {
    this.logger = new Logger(`Connection:${connection}`);
  }

  get size(): number {
    return this.holders.size;
  }

  holds(uri: string): boolean {
    return this.holders.has(uri);
  }

  /** One more holder of the URI; subscribes downstream for the first. Rejects (and counts nothing) when that fails. */
  async acquire(uri: string, signal?: AbortSignal): Promise<void> {
    const count = this.holders.get(uri);
    if (count !== undefined) {
      await this.pending.get(uri);
      this.holders.set(uri, (this.holders.get(uri) ?? 0) + 1);
      return;
    }
    this.holders.set(uri, 1);
    const subscribing = this.client
      .request({ method: 'resources/subscribe', params: { uri } }, EmptyResultSchema, signal ? { signal } : {})
      .then(() => undefined);
    this.pending.set(uri, subscribing);
    try {
      await subscribing;
    } catch (error) {
      this.holders.delete(uri);
      throw error;
    } finally {
      this.pending.delete(uri);
    }
  }

  /** One holder fewer; the last one's release unsubscribes downstream (in the background: nobody waits for it). */
  release(uri: string): void {
    const count = this.holders.get(uri);
    if (count === undefined) return;
    if (count > 1) {
      this.holders.set(uri, count - 1);
      return;
    }
    this.holders.delete(uri);
    this.client
      .request({ method: 'resources/unsubscribe', params: { uri } }, EmptyResultSchema)
      .catch((error: unknown) => this.logger.debug(`Could not unsubscribe from a resource: ${describeError(error)}`));
  }

  /** A new downstream session: every URI still held is subscribed again. */
  resubscribe(): void {
    for (const uri of this.holders.keys()) {
      if (this.pending.has(uri)) continue;
      this.client
        .request({ method: 'resources/subscribe', params: { uri } }, EmptyResultSchema)
        .catch((error: unknown) => this.logger.warn(`Could not renew a resource subscription: ${describeError(error)}`));
    }
  }
}
