import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { SWEEP_EVERY_MS } from './audit-sink.job';

@Injectable()
export class AuditSinkScheduler implements OnApplicationBootstrap {
  constructor(@InjectQueue(QUEUES.auditSinks) private readonly queue: Queue) {}

  // Idempotent: every worker upserts the same schedule at boot.
  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(
      JOBS.sweepAuditSinks,
      { every: SWEEP_EVERY_MS },
      { name: JOBS.sweepAuditSinks, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  }
}
