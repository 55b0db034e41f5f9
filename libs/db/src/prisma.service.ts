import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { AppConfig } from '@gatehouse/config';
import { PrismaClient } from './generated/prisma/client';
import { BoundedPgPool, CONNECT_TIMEOUT_MS } from './pg-pool';

// Owns the pool; connects at start-up and lets a failure stop the boot (never catch-and-log it).
// Disconnects last, at application shutdown, after in-flight requests have drained. The per-call statements
// (audit records, usage, chaining) use SqlPool's 10 connections, so a process holds at most 20 in all.
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnApplicationShutdown {
  private readonly connections: BoundedPgPool;

  constructor(config: AppConfig) {
    // Handed over as a pool, so that Prisma's waits are bounded as SqlPool's are, and so that closing it is ours.
    const connections = new BoundedPgPool(config, 'prisma', 10);
    super({
      adapter: new PrismaPg(connections.pool),
      // Prisma's own defaults (2 s to get a connection, 5 s in all) are shorter than the waits the pool and
      // PostgreSQL allow, and fail a transaction that merely queued (P2028). A transaction waits for a connection as
      // any statement does, and may wait out a lock as long as lock_timeout lets it, and then finish.
      transactionOptions: { maxWait: CONNECT_TIMEOUT_MS, timeout: config.env.GATEHOUSE_DB_LOCK_TIMEOUT_MS + 10_000 },
    });
    this.connections = connections;
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  // Prisma rolls back its open transactions on the pool's connections; closing the pool bounds that wait.
  async onApplicationShutdown(): Promise<void> {
    const disconnected = this.$disconnect();
    await this.connections.close();
    await disconnected.catch(() => undefined);
  }
}
