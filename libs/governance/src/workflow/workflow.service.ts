import { Injectable } from '@nestjs/common';
import { AuditRecorder } from '@gatehouse/audit';
import { GatehouseError, isAdministrator, roleIncludes, storedWorkflow, WorkflowSpec, workflowSpecSchema } from '@gatehouse/config';
import { ConnectionRegistry } from '@gatehouse/connections';
import { ApiKeyRepository, WorkflowRecord, WorkflowRepository } from '@gatehouse/db';
import { ApiKeyService, auditActorOf, Principal } from '@gatehouse/identity';
import { WorkflowSchedules } from './workflow-schedules';
import { validateWorkflow } from './workflow-validation';

export interface WorkflowView extends WorkflowSpec {
  version: number;
  configManaged: boolean;
  updatedAt: string;
}

/** A stored definition, parsed again: what was valid when saved parses the same way now. */
export function specOf(definition: unknown): WorkflowSpec {
  return workflowSpecSchema.parse(definition);
}

// Workflow definitions: validated against the organization's tools when saved, versioned, scheduled
// (WorkflowRunService starts and follows their runs).
@Injectable()
export class WorkflowService {
  constructor(
    private readonly repository: WorkflowRepository,
    private readonly registry: ConnectionRegistry,
    private readonly recorder: AuditRecorder,
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
}

function viewOf(record: WorkflowRecord): WorkflowView {
  return { ...specOf(record.definition), version: record.version, configManaged: record.configManaged, updatedAt: record.updatedAt.toISOString() };
}

/** The workflow's roles name the principal's role (or one it includes); auditors run nothing. */
export function mayRun(principal: Principal, workflow: Pick<WorkflowSpec, 'roles'>): boolean {
  return principal.role !== 'auditor' && workflow.roles.some((role) => roleIncludes(principal.role, role));
}
