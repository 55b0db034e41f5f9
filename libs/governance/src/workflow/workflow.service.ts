import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditRecorder } from '@gatehouse/audit';
import { canonicalJson, GatehouseError, isAdministrator, roleIncludes, storedWorkflow, WorkflowSpec, workflowSpecSchema } from '@gatehouse/config';
import { catalogResource, ConnectionRegistry } from '@gatehouse/connections';
import { ApiKeyRepository, ApprovalRepository, WorkflowRecord, WorkflowRepository, WorkflowRunRecord, WorkflowRunStepRecord } from '@gatehouse/db';
import { ApiKeyService, auditActorOf, Principal } from '@gatehouse/identity';
import { ApprovalService } from '../approval/approval.service';
import { ToolAccessPolicy } from '../policy/tool-access.policy';
import { WorkflowSchedules } from './workflow-schedules';
import { validateWorkflow } from './workflow-validation';
import { WorkflowWake } from './workflow-wake';

export const WORKFLOW_CONNECTION = 'gatehouse';
export const WORKFLOW_RUN_TOOL = 'gatehouse_execute_workflow';
const RUN_PAGE_SIZE = 50;

export type WorkflowTrigger = 'mcp' | 'api' | 'dashboard' | 'schedule';

export interface WorkflowView extends WorkflowSpec {
  version: number;
  configManaged: boolean;
  updatedAt: string;
}

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

/** A stored definition, parsed again: what was valid when saved parses the same way now. */
export function specOf(definition: unknown): WorkflowSpec {
  return workflowSpecSchema.parse(definition);
}

// Workflows: definitions (validated against the organization's tools when saved, versioned) and their runs, which
// WorkflowExecutor (libs/mcp) executes step by step as the person who started them.
@Injectable()
export class WorkflowService {
  constructor(
    private readonly repository: WorkflowRepository,
    private readonly registry: ConnectionRegistry,
    private readonly access: ToolAccessPolicy,
    private readonly approvals: ApprovalService,
    private readonly approvalRecords: ApprovalRepository,
    private readonly recorder: AuditRecorder,
    private readonly wake: WorkflowWake,
    private readonly schedules: WorkflowSchedules,
    private readonly keys: ApiKeyRepository,
    private readonly apiKeys: ApiKeyService,
  ) {}

  /** Admins see every workflow; others the ones their role may run. */
  async list(principal: Principal): Promise<WorkflowView[]> {
    const all = (await this.repository.list(principal.organizationId)).map(viewOf);
    return isAdministrator(principal.role) || principal.role === 'auditor' ? all : all.filter((workflow) => mayRun(principal, workflow));
  }

  async get(principal: Principal, name: string): Promise<WorkflowView> {
    const record = await this.repository.find(principal.organizationId, name);
    const view = record && viewOf(record);
    if (!view || !(isAdministrator(principal.role) || principal.role === 'auditor' || mayRun(principal, view))) {
      throw GatehouseError.notFound(`No workflow named "${name}" in this organization`);
    }
    return view;
  }

  /** Problems with a definition against the organization's tools as they are now; empty when it may be saved. */
  problems(organizationId: string, spec: WorkflowSpec): { path: (string | number)[]; message: string }[] {
    return validateWorkflow(spec, (name) => {
      const resolved = this.registry.resolve(organizationId, name);
      if (!resolved) return undefined;
      const inputSchema = resolved.tool.definition.inputSchema as Record<string, unknown>;
      return { inputSchema, check: this.registry.argumentIssues(inputSchema) };
    });
  }

  /** Creates (`create`) or replaces a workflow with a new version; the config file's are read-only here. */
  async save(principal: Principal, spec: WorkflowSpec, mode: 'create' | 'update'): Promise<WorkflowView> {
    const current = await this.repository.find(principal.organizationId, spec.name);
    if (mode === 'update' && !current) throw GatehouseError.notFound(`No workflow named "${spec.name}" in this organization`);
    if (current?.configManaged) throw GatehouseError.conflict(`Workflow "${spec.name}" is managed by the config file; change it there`);
    // Compiled now, so that a schema Ajv cannot use (a remote $ref, say) is refused here rather than at each run.
    this.registry.argumentIssues(spec.inputs);
    const problems = this.problems(principal.organizationId, spec);
    if (problems.length > 0) throw GatehouseError.invalid(`The workflow is not valid: ${problems.map((problem) => problem.message).join('; ')}`);
    const scheduleKeyId = spec.schedule ? await this.scheduleKey(principal, spec) : null;
    const saved = await this.repository.save(
      { organizationId: principal.organizationId, name: spec.name, definition: storedWorkflow(spec), scheduleKeyId, configManaged: false, changedBy: principal.userEmail ?? principal.name },
      mode === 'create',
    );
    if (saved === 'exists') throw GatehouseError.conflict(`A workflow named "${spec.name}" already exists`);
    // After the row: a scheduler whose workflow is not there yet would fire for nothing. A failure here leaves the
    // row saved and the scheduler behind until the next boot puts them in step (WorkflowSchedules.syncAll).
    await this.schedules.put(saved, spec.schedule);
    await this.recorder.record({
      organizationId: principal.organizationId,
      kind: mode === 'create' ? 'workflow.created' : 'workflow.updated',
      actor: auditActorOf(principal),
      target: { type: 'workflow', name: spec.name },
      outcome: 'success',
      data: { version: saved.version, steps: spec.steps.map((step) => step.tool), ...(spec.schedule ? { schedule: spec.schedule } : {}) },
    });
    return viewOf(saved);
  }

  async remove(principal: Principal, name: string): Promise<void> {
    const current = await this.repository.find(principal.organizationId, name);
    if (!current) throw GatehouseError.notFound(`No workflow named "${name}" in this organization`);
    if (current.configManaged) throw GatehouseError.conflict(`Workflow "${name}" is managed by the config file; remove it there`);
    await this.repository.remove(principal.organizationId, name);
    await this.schedules.remove(current.id);
    await this.recorder.record({ organizationId: principal.organizationId, kind: 'workflow.deleted', actor: auditActorOf(principal), target: { type: 'workflow', name }, outcome: 'success' });
  }

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
    const workflow = await this.get(principal, name);
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

  /**
   * The key a schedule runs as (`schedule.runAs`, by name): one unrevoked API key of the organization, whose role
   * the workflow's roles name, and no more than its author's (a schedule must not lend its author a stronger
   * key). Scheduled runs start with no inputs, so the inputs' schema must accept none.
   */
  private async scheduleKey(author: Principal, spec: WorkflowSpec): Promise<string> {
    const { runAs } = spec.schedule!;
    const inputProblems = this.registry.argumentIssues(spec.inputs)({});
    if (inputProblems.length > 0) {
      throw GatehouseError.invalid(
        `schedule: a scheduled run starts with no inputs, but the workflow's inputs require some (${inputProblems.map((issue) => `${issue.path ? `inputs.${issue.path}` : 'inputs'} ${issue.message}`).join('; ')})`,
      );
    }
    const ids = await this.keys.activeIdsByName(author.organizationId, runAs);
    if (ids.length === 0) throw GatehouseError.invalid(`schedule.runAs: no API key named "${runAs}" in this organization (revoked keys do not count)`);
    if (ids.length > 1) throw GatehouseError.invalid(`schedule.runAs: ${ids.length} API keys are named "${runAs}" in this organization; name one that is unique`);
    const key = await this.apiKeys.current(author.organizationId, ids[0]!);
    if (!key) throw GatehouseError.invalid(`schedule.runAs: API key "${runAs}" cannot act now (its person left the organization, or a key it hangs from was revoked)`);
    if (!mayRun(key, spec)) throw GatehouseError.invalid(`schedule.runAs: API key "${runAs}" has role ${key.role}, which may not run this workflow (roles: ${spec.roles.join(', ')})`);
    if (!roleIncludes(author.role, key.role)) {
      throw GatehouseError.forbidden(`schedule.runAs: API key "${runAs}" has role ${key.role}, above yours (${author.role}); a schedule cannot run with more than its author`);
    }
    return ids[0]!;
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
    return Promise.all(runs.map((run) => this.runView(run)));
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
    const request = run && (await this.approvalRecords.findForWorkflow(run.id, run.status === 'waiting_approval' ? await this.waitingStep(run) : null));
    if (!run || !request || request.status !== 'pending') throw GatehouseError.conflict(`Run ${id} is not waiting for an approval`);
    await this.approvals.decide(principal, request.id, approved, reason);
    return this.runView((await this.repository.findRunById(id))!);
  }

  private async waitingStep(run: WorkflowRunRecord): Promise<number | null> {
    const steps = await this.repository.steps(run.id);
    return steps.find((step) => step.status === 'waiting_approval')?.index ?? null;
  }

  private async findRun(principal: Principal, id: string): Promise<WorkflowRunRecord> {
    const run = await this.repository.findRun(principal.organizationId, id);
    if (!run || !(seesEveryRun(principal) || run.starterSubject === principal.subject)) throw GatehouseError.notFound(`Workflow run ${id} not found`);
    return run;
  }

  async runView(run: WorkflowRunRecord): Promise<WorkflowRunView> {
    const steps = await this.repository.steps(run.id);
    const waiting = run.status === 'waiting_approval' ? await this.approvalRecords.findForWorkflow(run.id, steps.find((step) => step.status === 'waiting_approval')?.index ?? null) : null;
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
      approvalRequestId: waiting?.status === 'pending' ? waiting.id : null,
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
}

function viewOf(record: WorkflowRecord): WorkflowView {
  return { ...specOf(record.definition), version: record.version, configManaged: record.configManaged, updatedAt: record.updatedAt.toISOString() };
}

function mayRun(principal: Principal, workflow: Pick<WorkflowSpec, 'roles'>): boolean {
  return principal.role !== 'auditor' && workflow.roles.some((role) => roleIncludes(principal.role, role));
}

function seesEveryRun(principal: Principal): boolean {
  return isAdministrator(principal.role) || principal.role === 'auditor';
}
