import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditRecorder } from '@gatehouse/audit';
import { canonicalJson, GatehouseError, isAdministrator } from '@gatehouse/config';
import { catalogResource, ConnectionRegistry } from '@gatehouse/connections';
import { ApprovalRepository, WorkflowRepository, WorkflowRunRecord, WorkflowRunStepRecord } from '@gatehouse/db';
import { auditActorOf, Principal } from '@gatehouse/identity';
import { ApprovalService } from '../approval/approval.service';
import { ToolAccessPolicy } from '../policy/tool-access.policy';
import { mayRun, WorkflowService } from './workflow.service';
import { WorkflowWake } from './workflow-wake';

/** The connection and tool name a whole run's approval request is held under. */
export const WORKFLOW_CONNECTION = 'gatehouse';
export const WORKFLOW_RUN_TOOL = 'gatehouse_execute_workflow';
const RUN_PAGE_SIZE = 50;

export type WorkflowTrigger = 'mcp' | 'api' | 'dashboard' | 'schedule';

export interface WorkflowRunView {
  id: string;
  workflow: string;
  version: number;
  status: WorkflowRunRecord['status'];
  trigger: string;
  inputs: unknown;
  startedBy: string;
  result: unknown;
  error: string | null;
  /** The approval request the run waits on (the whole run's, or a step's), when it waits. */
  approvalRequestId: string | null;
  /** The schedule's fire time that started it (trigger schedule). */
  scheduledFor: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  steps: {
    index: number;
    id: string;
    tool: string;
    status: WorkflowRunStepRecord['status'];
    callId: string | null;
    approvalRequestId: string | null;
    arguments: unknown;
    result: unknown;
    error: string | null;
    startedAt: string;
    finishedAt: string | null;
    durationMs: number | null;
  }[];
}

// Workflow runs: started as a principal (checked against the workflow's roles, its inputs' schema and the policy
// for every step), followed, cancelled and approved; WorkflowExecutor (libs/mcp) executes them step by step.
@Injectable()
export class WorkflowRunService {
  constructor(
    private readonly workflows: WorkflowService,
    private readonly repository: WorkflowRepository,
    private readonly registry: ConnectionRegistry,
    private readonly access: ToolAccessPolicy,
    private readonly approvals: ApprovalService,
    private readonly approvalRecords: ApprovalRepository,
    private readonly recorder: AuditRecorder,
    private readonly wake: WorkflowWake,
  ) {}

  /**
   * Starts a run as the principal: their role must be one the workflow names, the inputs must match its schema,
   * and every step must be a call the policy would let them make (or hold for approval) right now. A workflow
   * that needs approval waits for it before its first step.
   */
  async start(principal: Principal, name: string, inputs: Record<string, unknown>, trigger: Exclude<WorkflowTrigger, 'schedule'>): Promise<WorkflowRunView> {
    const run = await this.begin(principal, name, inputs, trigger, null);
    if (run === 'duplicate') throw new Error('A run without a fire time cannot be a duplicate');
    return run;
  }

  /**
   * A run a schedule fired, as the schedule's key (as it is now), checked like any start. 'duplicate' when this
   * fire time already started a run (the fire's job was delivered twice).
   */
  startScheduled(principal: Principal, name: string, firedAt: Date): Promise<WorkflowRunView | 'duplicate'> {
    return this.begin(principal, name, {}, 'schedule', firedAt);
  }

  private async begin(principal: Principal, name: string, inputs: Record<string, unknown>, trigger: WorkflowTrigger, scheduledFor: Date | null): Promise<WorkflowRunView | 'duplicate'> {
    const workflow = await this.workflows.get(principal, name);
    if (!mayRun(principal, workflow)) throw GatehouseError.forbidden(`Your role (${principal.role}) may not run workflow "${name}" (roles: ${workflow.roles.join(', ')})`);
    const inputProblems = this.registry.argumentIssues(workflow.inputs)(inputs);
    if (inputProblems.length > 0) {
      throw GatehouseError.invalid(`Invalid inputs for workflow "${name}": ${inputProblems.map((issue) => `${issue.path ? `inputs.${issue.path}` : 'inputs'} ${issue.message}`).join('; ')}`);
    }
    for (const [index, step] of workflow.steps.entries()) {
      const resolved = this.registry.resolve(principal.organizationId, step.tool);
      if (!resolved) throw GatehouseError.conflict(`Workflow "${name}" cannot run: step ${index + 1} ("${step.id}") calls "${step.tool}", which is not available now`);
      const decision = await this.access.decide(principal, catalogResource(resolved.tool), {});
      if (decision.effect === 'deny') {
        throw GatehouseError.forbidden(
          `You may not run workflow "${name}": step ${index + 1} ("${step.id}") calls "${step.tool}", which policy rule "${decision.rule.name}" denies you`,
        );
      }
    }
    const run = await this.repository.createRun({
      organizationId: principal.organizationId,
      workflowName: name,
      trigger,
      inputs,
      starterKind: principal.kind,
      starterSubject: principal.subject,
      starterName: principal.userEmail ?? principal.name,
      starterApiKeyId: principal.apiKeyId,
      starterUserId: principal.userId,
      scheduledFor,
    });
    if (run === 'duplicate') return run;
    if (!run) throw GatehouseError.notFound(`No workflow named "${name}" in this organization`);
    await this.recorder.record({
      organizationId: principal.organizationId,
      kind: 'workflow.run.started',
      actor: auditActorOf(principal),
      target: { type: 'workflow_run', id: run.id, workflow: name },
      outcome: 'success',
      data: { version: run.version, trigger, ...(scheduledFor ? { scheduledFor: scheduledFor.toISOString() } : {}), inputsHash: createHash('sha256').update(canonicalJson(inputs)).digest('hex') },
    });
    if (workflow.approval) {
      await this.repository.markWaiting(run.id);
      await this.approvals.request(
        principal,
        {
          connectionName: WORKFLOW_CONNECTION,
          toolName: WORKFLOW_RUN_TOOL,
          downstreamTool: `workflow:${name}`,
          arguments: { workflow: name, version: run.version, inputs },
          toolClasses: [],
          workflow: { runId: run.id, step: null },
        },
        { id: null, name: `workflow:${name}` },
        workflow.approval,
      );
    } else {
      await this.wake.wake(run.id);
    }
    return this.runView((await this.repository.findRunById(run.id))!);
  }

  async getRun(principal: Principal, id: string): Promise<WorkflowRunView> {
    return this.runView(await this.findRun(principal, id));
  }

  async listRuns(principal: Principal, filter: { workflow?: string; before?: string; limit?: number }): Promise<WorkflowRunView[]> {
    const runs = await this.repository.listRuns(principal.organizationId, {
      ...(filter.workflow ? { workflowName: filter.workflow } : {}),
      ...(filter.before ? { before: filter.before } : {}),
      limit: filter.limit ?? RUN_PAGE_SIZE,
      ...(seesEveryRun(principal) ? {} : { starterSubject: principal.subject }),
    });
    return this.runViews(runs);
  }

  /** The starter or an admin stops a run: at once if nobody is executing it, else before its next step. */
  async cancel(principal: Principal, id: string): Promise<WorkflowRunView> {
    const run = await this.findRun(principal, id);
    if (run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled') throw GatehouseError.conflict(`Run ${id} has already ${run.status === 'cancelled' ? 'been cancelled' : run.status}`);
    const by = principal.userEmail ?? principal.name;
    const after = (await this.repository.requestCancel(principal.organizationId, id, new Date(), `Cancelled by ${by}`))!;
    await this.recorder.record({
      organizationId: principal.organizationId,
      kind: 'workflow.run.cancel_requested',
      actor: auditActorOf(principal),
      target: { type: 'workflow_run', id, workflow: run.workflowName },
      outcome: after.status === 'cancelled' ? 'cancelled' : 'pending',
    });
    // A run waiting on nobody was cancelled above, and its story ends here; one being executed stops at its lease
    // holder's next check, which records workflow.run.cancelled.
    if (after.status === 'cancelled') {
      await this.recorder.record({
        organizationId: principal.organizationId,
        kind: 'workflow.run.cancelled',
        actor: auditActorOf(principal),
        target: { type: 'workflow_run', id, workflow: run.workflowName, startedBy: run.starterName },
        outcome: 'cancelled',
        data: { error: after.error },
      });
    } else {
      await this.wake.wake(id);
    }
    return this.runView(after);
  }

  /** Approves (or denies) the approval a run waits on, as gatehouse_approve_workflow_run and the inbox do. */
  async decideRun(principal: Principal, id: string, approved: boolean, reason: string | undefined): Promise<WorkflowRunView> {
    const run = await this.repository.findRun(principal.organizationId, id);
    const requestId = run && (await this.runView(run)).approvalRequestId;
    if (!requestId) throw GatehouseError.conflict(`Run ${id} is not waiting for an approval`);
    await this.approvals.decide(principal, requestId, approved, reason);
    return this.runView((await this.repository.findRunById(id))!);
  }

  private async findRun(principal: Principal, id: string): Promise<WorkflowRunRecord> {
    const run = await this.repository.findRun(principal.organizationId, id);
    if (!run || !(seesEveryRun(principal) || run.starterSubject === principal.subject)) throw GatehouseError.notFound(`Workflow run ${id} not found`);
    return run;
  }

  async runView(run: WorkflowRunRecord): Promise<WorkflowRunView> {
    return (await this.runViews([run]))[0]!;
  }

  /** The runs with their steps, read in one query; the approval looked up only for runs that wait for one. */
  private async runViews(runs: WorkflowRunRecord[]): Promise<WorkflowRunView[]> {
    const stepsByRun = new Map<string, WorkflowRunStepRecord[]>();
    for (const step of await this.repository.stepsOf(runs.map((run) => run.id))) stepsByRun.set(step.runId, [...(stepsByRun.get(step.runId) ?? []), step]);
    return Promise.all(
      runs.map(async (run) => {
        const steps = stepsByRun.get(run.id) ?? [];
        const waiting =
          run.status === 'waiting_approval'
            ? await this.approvalRecords.findForWorkflow(run.id, steps.find((step) => step.status === 'waiting_approval')?.index ?? null)
            : null;
        return viewOfRun(run, steps, waiting?.status === 'pending' ? waiting.id : null);
      }),
    );
  }
}

function viewOfRun(run: WorkflowRunRecord, steps: WorkflowRunStepRecord[], approvalRequestId: string | null): WorkflowRunView {
  return {
      id: run.id,
      workflow: run.workflowName,
      version: run.version,
      status: run.status,
      trigger: run.trigger,
      inputs: run.inputs,
      startedBy: run.starterName,
      result: run.result ?? null,
      error: run.error,
      approvalRequestId,
      scheduledFor: run.scheduledFor?.toISOString() ?? null,
      createdAt: run.createdAt.toISOString(),
      startedAt: run.startedAt?.toISOString() ?? null,
      finishedAt: run.finishedAt?.toISOString() ?? null,
      steps: steps.map((step) => ({
        index: step.index,
        id: step.stepId,
        tool: step.tool,
        status: step.status,
        callId: step.callId,
        approvalRequestId: step.approvalRequestId,
        arguments: step.arguments ?? null,
        result: step.result ?? null,
        error: step.error,
        startedAt: step.startedAt.toISOString(),
        finishedAt: step.finishedAt?.toISOString() ?? null,
        durationMs: step.finishedAt ? step.finishedAt.getTime() - step.startedAt.getTime() : null,
      })),
    };
}

function seesEveryRun(principal: Principal): boolean {
  return isAdministrator(principal.role) || principal.role === 'auditor';
}
