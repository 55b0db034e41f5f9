import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';

export interface WorkflowJob {
  runId: string;
}

/**
 * Asks a gateway to advance a run (started, or its approval decided). Jobs that find the run held by another
 * process retry with backoff, so a wake-up is never lost to a lease being let go at that moment.
 */
@Injectable()
export class WorkflowWake {
  constructor(@InjectQueue(QUEUES.workflows) private readonly queue: Queue<WorkflowJob>) {}

  async wake(runId: string): Promise<void> {
    await this.queue.add(JOBS.advanceWorkflow, { runId }, { removeOnComplete: true, removeOnFail: 200, attempts: 20, backoff: { type: 'exponential', delay: 250 } });
  }
}
