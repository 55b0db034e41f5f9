import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisService } from './redis.service';

// fromSelf: published by this process, which usually applied the change already and can skip the echo.
type Handler = (payload: unknown, fromSelf: boolean) => void;

interface Envelope {
  origin: string;
  payload: unknown;
}

// Redis pub/sub between the replicas of one deployment: every process keeps state derived from the
// database (running connections, cached credentials), and a change made through one must reach all.
// One subscriber connection per process, whatever the number of channels.
@Injectable()
export class ClusterBus implements OnApplicationShutdown {
  private readonly logger = new Logger(ClusterBus.name);
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly origin = randomUUID();
  private subscriber: Redis | null = null;

  constructor(private readonly redis: RedisService) {}

  async publish(channel: string, payload: unknown): Promise<void> {
    const envelope: Envelope = { origin: this.origin, payload };
    await this.redis.client.publish(this.redis.key('events', channel), JSON.stringify(envelope));
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
      let envelope: Envelope;
      try {
        envelope = JSON.parse(message) as Envelope;
      } catch {
        this.logger.warn(`Ignoring a malformed message on ${channel}`);
        return;
      }
      const fromSelf = envelope.origin === this.origin;
      this.handlers.get(channel)?.forEach((handler) => handler(envelope.payload, fromSelf));
    });
    return this.subscriber;
  }
}
