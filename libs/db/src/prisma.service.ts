import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { AppConfig } from '@gatehouse/config';
import { PrismaClient } from './generated/prisma/client';

// Owns the pool; connects at start-up and lets a failure stop the boot (never catch-and-log it).
// Disconnects last, at application shutdown, after in-flight requests have drained. The per-call statements
// (audit records, usage, chaining) use SqlPool's 10 connections, so a process holds at most 20 in all.
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnApplicationShutdown {
  constructor(config: AppConfig) {
    super({ adapter: new PrismaPg({ connectionString: config.env.DATABASE_URL, max: 10 }) });
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
