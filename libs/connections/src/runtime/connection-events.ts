import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisService } from '@gatehouse/db';

export type ConnectionEvent = { type: 'changed'; connectionId: string } | { type: 'refresh-all' };

// Fans connection changes out to every gateway replica over Redis pub/sub: each replica runs its own
// downstream clients, so a change made through one replica must reach the others.
@Injectable()
export class ConnectionEvents implements OnModuleDestroy {
  private readonly logger = new Logger(ConnectionEvents.name);
  private subscriber: Redis | null = null;

  constructor(private readonly redis: RedisService) {}

  private get channel(): string {
    return this.redis.key('events', 'connections');
  }

  async publish(event: ConnectionEvent): Promise<void> {
    await this.redis.client.publish(this.channel, JSON.stringify(event));
  }

  async subscribe(handler: (event: ConnectionEvent) => void): Promise<void> {
    this.subscriber = this.redis.createSubscriber();
    this.subscriber.on('message', (_channel: string, message: string) => {
      try {
        handler(JSON.parse(message) as ConnectionEvent);
      } catch (error) {
        this.logger.warn({ err: error }, 'Ignoring a malformed connection event');
      }
    });
    await this.subscriber.subscribe(this.channel);
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber?.unsubscribe().catch(() => undefined);
  }
}
