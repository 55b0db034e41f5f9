import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { AppConfig } from '@gatehouse/config';

// One command connection for the process; subscribers and BullMQ get their own (a subscribed
// connection cannot run commands). Every key and channel carries the deployment's prefix.
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: Redis;
  private readonly extra: Redis[] = [];

  constructor(private readonly config: AppConfig) {
    this.client = this.connect('commands');
  }

  get prefix(): string {
    return this.config.env.GATEHOUSE_REDIS_PREFIX;
  }

  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  /** BullMQ needs `maxRetriesPerRequest: null`; it duplicates this connection for its blocking clients. */
  createBullConnection(): Redis {
    const connection = new Redis(this.config.env.REDIS_URL, { ...this.baseOptions('bullmq'), maxRetriesPerRequest: null });
    connection.on('error', (error) => this.logger.warn({ err: error, role: 'bullmq' }, 'Redis connection error'));
    this.extra.push(connection);
    return connection;
  }

  createSubscriber(): Redis {
    const subscriber = this.connect('subscriber');
    this.extra.push(subscriber);
    return subscriber;
  }

  async onModuleInit(): Promise<void> {
    await this.client.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.client, ...this.extra].map((connection) => connection.quit()));
  }

  private baseOptions(role: string): RedisOptions {
    return { connectionName: `gatehouse-${role}`, enableAutoPipelining: true, maxRetriesPerRequest: 3 };
  }

  private connect(role: string): Redis {
    const connection = new Redis(this.config.env.REDIS_URL, this.baseOptions(role));
    connection.on('error', (error) => this.logger.warn({ err: error, role }, 'Redis connection error'));
    return connection;
  }
}
