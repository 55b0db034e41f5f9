import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { AuditChainer } from '../chain/audit-chainer';

// Dispatch only: the work lives in the chainer. Concurrency 1 per process; across processes the chain lock
// in PostgreSQL keeps organizations from being chained twice at once.
@Processor(QUEUES.audit)
export class AuditProcessor extends WorkerHost {
  private readonly logger = new Logger(AuditProcessor.name);

  constructor(private readonly chainer: AuditChainer) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case JOBS.chainAudit:
        await this.chainer.chainAll();
        return;
      default:
        this.logger.error(`Unknown job ${job.name} on ${QUEUES.audit}`);
        throw new UnrecoverableError(`Unknown job ${job.name}`);
    }
  }
}
