import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { AuditChainer } from '../chain/audit-chainer';
import { CallReconciler } from '../calls/call-reconciler';
import { AuditPruner } from '../retention/audit-pruner';
import { AuditSinkQueue } from '../sinks/audit-sink.queue';

// Dispatch only: the work lives in the chainer. Concurrency 1 per process; across processes the chain lock
// in PostgreSQL keeps organizations from being chained twice at once.
@Processor(QUEUES.audit)
export class AuditProcessor extends WorkerHost {
  private readonly logger = new Logger(AuditProcessor.name);

  constructor(
    private readonly chainer: AuditChainer,
    private readonly pruner: AuditPruner,
    private readonly reconciler: CallReconciler,
    private readonly sinks: AuditSinkQueue,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case JOBS.chainAudit:
        // Records are chained as they are appended: this job follows appends (AuditLog.requestChaining), so the
        // sinks behind the chain's head get their new records now rather than at the next sweep.
        await this.chainer.chainAll();
        await this.sinks.deliverLagging();
        return;
      case JOBS.pruneAudit:
        await this.pruner.pruneAll();
        return;
      case JOBS.reconcileAudit:
        await this.reconciler.reconcile();
        return;
      default:
        this.logger.error(`Unknown job ${job.name} on ${QUEUES.audit}`);
        throw new UnrecoverableError(`Unknown job ${job.name}`);
    }
  }
}
