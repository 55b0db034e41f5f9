import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { CHAIN_EVERY_MS, PRUNE_EVERY_MS, RECONCILE_EVERY_MS } from './audit.job';

@Injectable()
export class AuditScheduler implements OnApplicationBootstrap {
  constructor(@InjectQueue(QUEUES.audit) private readonly queue: Queue) {}

  // upsert is idempotent: every worker may call it at boot and there is still one schedule.
  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(
      JOBS.chainAudit,
      { every: CHAIN_EVERY_MS },
      { name: JOBS.chainAudit, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    // An "every" schedule runs once right away too: a deployment that was down for a while catches up at start.
    await this.queue.upsertJobScheduler(
      JOBS.pruneAudit,
      { every: PRUNE_EVERY_MS },
      { name: JOBS.pruneAudit, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    await this.queue.upsertJobScheduler(
      JOBS.reconcileAudit,
      { every: RECONCILE_EVERY_MS },
      { name: JOBS.reconcileAudit, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  }
}
