import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { ApprovalJob, ApprovalService } from '@gatehouse/governance';
import { ApprovedCallRunner } from './approved-call.runner';

// Dispatch only. Consumed by gateway processes, which hold the downstream connections the calls need.
@Processor(QUEUES.approvals)
export class ApprovalProcessor extends WorkerHost {
  private readonly logger = new Logger(ApprovalProcessor.name);

  constructor(
    private readonly runner: ApprovedCallRunner,
    private readonly approvals: ApprovalService,
  ) {
    super();
  }

  async process(job: Job<ApprovalJob>): Promise<void> {
    switch (job.name) {
      case JOBS.executeApproval:
        return this.runner.run(job.data.requestId);
      case JOBS.expireApproval:
        // A timer that fired a moment early: throwing retries it with backoff.
        if (!(await this.approvals.expire(job.data.requestId))) throw new Error(`Approval request ${job.data.requestId} is not due to expire yet`);
        return;
      default:
        this.logger.error(`Unknown job ${job.name} on ${QUEUES.approvals}`);
        throw new UnrecoverableError(`Unknown job ${job.name}`);
    }
  }
}
