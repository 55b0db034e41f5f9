import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { AppConfig, settlesWithin } from '@gatehouse/config';

// A command Redis has not answered by then fails, instead of holding a request, a start-up or a shutdown for as long
// as Redis stays silent. Not on BullMQ's connection: its blocking commands wait by design.
const COMMAND_TIMEOUT_MS = 10_000;
// At shutdown, how long QUIT may take before the connections are simply closed.
const QUIT_TIMEOUT_MS = 2_000;

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
    const { commandTimeout: _unbounded, ...options } = this.baseOptions('bullmq');
    const connection = new Redis(this.config.env.REDIS_URL, { ...options, maxRetriesPerRequest: null });
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

  // QUIT waits for Redis to answer; a Redis that stopped answering gets its connections closed instead. Only those:
  // ioredis's disconnect of a connection already ended arms a 2 s timer that nothing clears, which would hold the process.
  async onApplicationShutdown(): Promise<void> {
    const connections = [this.client, ...this.extra];
    await settlesWithin(Promise.allSettled(connections.map((connection) => connection.quit())), QUIT_TIMEOUT_MS);
    connections.filter((connection) => connection.status !== 'end').forEach((connection) => connection.disconnect());
  }

  private baseOptions(role: string): RedisOptions {
    return { connectionName: `gatehouse-${role}`, enableAutoPipelining: true, maxRetriesPerRequest: 3, commandTimeout: COMMAND_TIMEOUT_MS };
  }

  private connect(role: string): Redis {
    const connection = new Redis(this.config.env.REDIS_URL, this.baseOptions(role));
    connection.on('error', (error) => this.logger.warn({ err: error, role }, 'Redis connection error'));
    return connection;
  }
}
