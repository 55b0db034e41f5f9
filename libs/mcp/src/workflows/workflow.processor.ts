import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { WorkflowRepository } from '@gatehouse/db';
import { ScheduledWorkflowJob, ScheduledWorkflowRunner, WorkflowJob, WorkflowWake } from '@gatehouse/governance';
import { WorkflowExecutor } from './workflow-executor';

// How often runs left without a process (their lease lapsed, or no job reached them) are looked for.
const SWEEP_EVERY_MS = 10_000;
const SWEEP_BATCH = 100;
// Runs execute side by side, each mostly waiting on a downstream.
const CONCURRENCY = 32;

// Consumed by gateway processes, which hold the downstream connections the steps call.
@Processor(QUEUES.workflows, { concurrency: CONCURRENCY })
export class WorkflowProcessor extends WorkerHost {
  private readonly logger = new Logger(WorkflowProcessor.name);

  constructor(
    private readonly executor: WorkflowExecutor,
    private readonly runs: WorkflowRepository,
    private readonly wake: WorkflowWake,
    private readonly scheduled: ScheduledWorkflowRunner,
  ) {
    super();
  }

  async process(job: Job<WorkflowJob | ScheduledWorkflowJob>): Promise<void> {
    switch (job.name) {
      case JOBS.advanceWorkflow:
        // Held by another process (working, or dead with its lease not yet lapsed): retried with backoff.
        if ((await this.executor.advance((job.data as WorkflowJob).runId)) === 'busy') throw new Error(`Workflow run ${(job.data as WorkflowJob).runId} is held by another process`);
        return;
      case JOBS.sweepWorkflows: {
        const stranded = await this.runs.stranded(new Date(Date.now() - SWEEP_EVERY_MS), SWEEP_BATCH);
        for (const run of stranded) await this.wake.wake(run.id);
        return;
      }
      case JOBS.scheduledWorkflow:
        // One job per fire (its id names the fire time, `prevMillis`); a fire delivered twice starts one run.
        await this.scheduled.fire(job.data as ScheduledWorkflowJob, new Date(job.opts.prevMillis ?? job.timestamp));
        return;
      default:
        this.logger.error(`Unknown job ${job.name} on ${QUEUES.workflows}`);
        throw new UnrecoverableError(`Unknown job ${job.name}`);
    }
  }
}

@Injectable()
export class WorkflowSweepSchedule implements OnApplicationBootstrap {
  constructor(@InjectQueue(QUEUES.workflows) private readonly queue: Queue) {}

  // Idempotent: every gateway upserts it, and there is one schedule.
  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(JOBS.sweepWorkflows, { every: SWEEP_EVERY_MS }, { name: JOBS.sweepWorkflows, opts: { removeOnComplete: true, removeOnFail: 100 } });
  }
}
