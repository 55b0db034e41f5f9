import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AppConfig, JOBS, QUEUES } from '@gatehouse/config';

@Injectable()
export class MaintenanceScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(QUEUES.maintenance) private readonly queue: Queue,
    private readonly config: AppConfig,
  ) {}

  // upsert is idempotent, so every worker may call it at boot and there is still one schedule.
  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(
      JOBS.refreshCatalogs,
      { every: this.config.env.GATEHOUSE_CATALOG_REFRESH_SECONDS * 1000 },
      { name: JOBS.refreshCatalogs, opts: { removeOnComplete: 100, removeOnFail: 500 } },
    );
    await this.queue.upsertJobScheduler(
      JOBS.purgeOAuth,
      { every: 3600 * 1000 },
      { name: JOBS.purgeOAuth, opts: { removeOnComplete: 24, removeOnFail: 100 } },
    );
  }
}
