import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JOBS, QUEUES, WorkflowSchedule, workflowSpecSchema } from '@gatehouse/config';
import { WorkflowRepository } from '@gatehouse/db';

/** What a schedule's job carries: the workflow by id (a workflow deleted and made again is another schedule). */
export interface ScheduledWorkflowJob {
  organizationId: string;
  workflowId: string;
  workflow: string;
}

const SCHEDULER_PREFIX = 'workflow-schedule:';

// One BullMQ job scheduler per scheduled workflow, its id derived from the workflow's: upserting it again (every
// gateway at boot, every save) changes nothing, and each fire is one job with a deterministic id
// (`repeat:<scheduler>:<fire time>`), so two gateways never both take a fire.
export function schedulerIdOf(workflowId: string): string {
  return `${SCHEDULER_PREFIX}${workflowId}`;
}

@Injectable()
export class WorkflowSchedules {
  private readonly logger = new Logger(WorkflowSchedules.name);

  constructor(
    @InjectQueue(QUEUES.workflows) private readonly queue: Queue<ScheduledWorkflowJob>,
    private readonly repository: WorkflowRepository,
  ) {}

  /** Puts the workflow's scheduler in step with its schedule: upserted with one, removed without. */
  async put(workflow: { id: string; organizationId: string; name: string }, schedule: WorkflowSchedule | undefined): Promise<void> {
    if (!schedule) {
      await this.remove(workflow.id);
      return;
    }
    await this.queue.upsertJobScheduler(
      schedulerIdOf(workflow.id),
      { pattern: schedule.cron, tz: schedule.timezone },
      {
        name: JOBS.scheduledWorkflow,
        data: { organizationId: workflow.organizationId, workflowId: workflow.id, workflow: workflow.name },
        opts: { removeOnComplete: true, removeOnFail: 100 },
      },
    );
  }

  async remove(workflowId: string): Promise<void> {
    await this.queue.removeJobScheduler(schedulerIdOf(workflowId));
  }

  /**
   * Every scheduled workflow's scheduler upserted, and the schedulers of workflows gone removed. The schedulers
   * are listed before the workflows are read: a workflow saved meanwhile is then either read here or its
   * scheduler was not listed, so a new schedule is never taken for a stale one. A scheduler put back for a
   * workflow deleted meanwhile removes itself when it fires (ScheduledWorkflowRunner).
   */
  async syncAll(): Promise<void> {
    const existing = (await this.queue.getJobSchedulers()).map((scheduler) => scheduler.key).filter((key) => key.startsWith(SCHEDULER_PREFIX));
    const workflows = await this.repository.scheduled();
    for (const workflow of workflows) await this.put(workflow, workflowSpecSchema.parse(workflow.definition).schedule);
    const wanted = new Set(workflows.map((workflow) => schedulerIdOf(workflow.id)));
    const stale = existing.filter((key) => !wanted.has(key));
    for (const key of stale) await this.queue.removeJobScheduler(key);
    this.logger.log(`Workflow schedules in step: ${workflows.length} scheduled, ${stale.length} stale removed`);
  }
}
