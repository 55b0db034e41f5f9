import { Injectable, Logger } from '@nestjs/common';
import { AuditRecorder, systemActor } from '@gatehouse/audit';
import { GatehouseError } from '@gatehouse/config';
import { WorkflowRepository } from '@gatehouse/db';
import { ApiKeyService, auditActorOf, Principal } from '@gatehouse/identity';
import { ScheduledWorkflowJob, WorkflowSchedules } from './workflow-schedules';
import { WorkflowRunService } from './workflow-run.service';

const SCHEDULE_ACTOR = systemActor('workflow-schedule');

export type ScheduledOutcome = 'started' | 'duplicate' | 'refused' | 'gone';

// A schedule fired: starts a run as the schedule's key as it is now, through WorkflowRunService (the workflow's
// roles, the inputs, every step's tool against the policy). A key revoked since, or no longer allowed, is
// refused and recorded (workflow.run.refused); the schedule keeps firing until the workflow is changed.
@Injectable()
export class ScheduledWorkflowRunner {
  private readonly logger = new Logger(ScheduledWorkflowRunner.name);

  constructor(
    private readonly repository: WorkflowRepository,
    private readonly runs: WorkflowRunService,
    private readonly schedules: WorkflowSchedules,
    private readonly apiKeys: ApiKeyService,
    private readonly recorder: AuditRecorder,
  ) {}

  async fire(job: ScheduledWorkflowJob, firedAt: Date): Promise<ScheduledOutcome> {
    const workflow = await this.repository.findById(job.workflowId);
    if (!workflow || workflow.organizationId !== job.organizationId || !workflow.scheduleKeyId) {
      // Deleted, or its schedule taken off, while this scheduler was being put back (see WorkflowSchedules.syncAll).
      await this.schedules.remove(job.workflowId);
      this.logger.warn({ workflowId: job.workflowId, workflow: job.workflow }, 'A schedule fired for a workflow without one; its scheduler was removed');
      return 'gone';
    }
    const principal = await this.apiKeys.current(workflow.organizationId, workflow.scheduleKeyId);
    if (!principal) return this.refuse(workflow, null, firedAt, `its schedule's key (runAs) is revoked or can no longer act`);
    try {
      const run = await this.runs.startScheduled(principal, workflow.name, firedAt);
      if (run === 'duplicate') this.logger.warn({ workflow: workflow.name, firedAt }, 'A schedule fire was delivered twice; its run had started already');
      return run === 'duplicate' ? 'duplicate' : 'started';
    } catch (error) {
      // What WorkflowRunService refuses (roles, policy, a tool gone) is the key's standing now, not a fault to retry.
      if (error instanceof GatehouseError) return this.refuse(workflow, principal, firedAt, error.message);
      throw error;
    }
  }

  private async refuse(workflow: { organizationId: string; name: string }, principal: Principal | null, firedAt: Date, reason: string): Promise<'refused'> {
    this.logger.warn({ organizationId: workflow.organizationId, workflow: workflow.name, firedAt, reason }, 'A scheduled workflow run was refused');
    await this.recorder.record({
      organizationId: workflow.organizationId,
      kind: 'workflow.run.refused',
      actor: principal ? auditActorOf(principal) : SCHEDULE_ACTOR,
      target: { type: 'workflow', name: workflow.name },
      outcome: 'denied',
      data: { trigger: 'schedule', scheduledFor: firedAt.toISOString(), reason },
    });
    return 'refused';
  }
}
