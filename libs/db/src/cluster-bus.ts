import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisService } from './redis.service';

type Handler = (payload: unknown) => void;

// Redis pub/sub between the replicas of one deployment: every process keeps state derived from the
// database (running connections, cached credentials), and a change made through one must reach all.
// One subscriber connection per process, whatever the number of channels.
@Injectable()
export class ClusterBus implements OnApplicationShutdown {
  private readonly logger = new Logger(ClusterBus.name);
  private readonly handlers = new Map<string, Set<Handler>>();
  private subscriber: Redis | null = null;

  constructor(private readonly redis: RedisService) {}

  async publish(channel: string, payload: unknown): Promise<void> {
    await this.redis.client.publish(this.redis.key('events', channel), JSON.stringify(payload));
  }

  async subscribe(channel: string, handler: Handler): Promise<void> {
    const key = this.redis.key('events', channel);
    const existing = this.handlers.get(key);
    if (existing) {
      existing.add(handler);
      return;
    }
    this.handlers.set(key, new Set([handler]));
    await this.connection().subscribe(key);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.unsubscribe().catch(() => undefined);
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    this.subscriber = this.redis.createSubscriber();
    this.subscriber.on('message', (channel: string, message: string) => {
      let payload: unknown;
      try {
        payload = JSON.parse(message);
      } catch {
        this.logger.warn(`Ignoring a malformed message on ${channel}`);
        return;
      }
      this.handlers.get(channel)?.forEach((handler) => handler(payload));
    });
    return this.subscriber;
  }
}
