import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { DeliverAuditSinkJob } from './audit-sink.job';
import { AuditSinkDeliverer } from './audit-sink.deliverer';
import { AuditSinkQueue } from './audit-sink.queue';

// Dispatch only. Several sinks deliver at once; one sink never twice at once (one job id per sink).
@Processor(QUEUES.auditSinks, { concurrency: 4 })
export class AuditSinkProcessor extends WorkerHost {
  private readonly logger = new Logger(AuditSinkProcessor.name);

  constructor(
    private readonly deliverer: AuditSinkDeliverer,
    private readonly queue: AuditSinkQueue,
  ) {
    super();
  }

  async process(job: Job, token?: string): Promise<void> {
    switch (job.name) {
      case JOBS.deliverAuditSink: {
        const nextInMs = await this.deliverer.run(job.data as DeliverAuditSinkJob);
        if (nextInMs === null) return;
        // The same job (same id) runs again later, so triggers in the meantime still coalesce into it.
        await job.moveToDelayed(Date.now() + nextInMs, token);
        throw new DelayedError();
      }
      case JOBS.sweepAuditSinks:
        await this.queue.deliverLagging();
        return;
      default:
        this.logger.error(`Unknown job ${job.name} on ${QUEUES.auditSinks}`);
        throw new UnrecoverableError(`Unknown job ${job.name}`);
    }
  }
}
