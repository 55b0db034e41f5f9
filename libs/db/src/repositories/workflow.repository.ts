import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { storedWorkflow, type WorkflowSpec } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { isUniqueViolation } from './unique-violation';

export type WorkflowRunStatusName = 'queued' | 'waiting_approval' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type WorkflowStepStatusName = 'running' | 'waiting_approval' | 'succeeded' | 'failed' | 'skipped' | 'interrupted' | 'cancelled';
export const FINISHED_RUN_STATUSES: readonly WorkflowRunStatusName[] = ['succeeded', 'failed', 'cancelled'];

export interface WorkflowRecord {
  id: string;
  organizationId: string;
  name: string;
  version: number;
  /** The spec as saved (workflowSpecSchema's output). */
  definition: unknown;
  scheduleKeyId: string | null;
  configManaged: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface SavedWorkflow {
  organizationId: string;
  name: string;
  definition: Record<string, unknown>;
  scheduleKeyId: string | null;
  configManaged: boolean;
  changedBy: string | null;
}

export interface NewWorkflowRun {
  organizationId: string;
  workflowName: string;
  trigger: string;
  inputs: Record<string, unknown>;
  starterKind: string;
  starterSubject: string;
  starterName: string;
  starterApiKeyId: string | null;
  starterUserId: string | null;
  /** The schedule's fire time, for runs a schedule started: one run per workflow and fire time. */
  scheduledFor?: Date | null;
}

/** A workflow with a schedule, for keeping BullMQ's job schedulers in step with the database. */
export interface ScheduledWorkflowRecord {
  id: string;
  organizationId: string;
  name: string;
  definition: unknown;
}

export interface WorkflowRunRecord extends NewWorkflowRun {
  id: string;
  versionId: string;
  version: number;
  status: WorkflowRunStatusName;
  nextStep: number;
  result: unknown;
  error: string | null;
  cancelRequested: boolean;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface WorkflowRunStepRecord {
  runId: string;
  index: number;
  stepId: string;
  tool: string;
  status: WorkflowStepStatusName;
  callId: string | null;
  approvalRequestId: string | null;
  arguments: unknown;
  result: unknown;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

export interface StepEnd {
  status: WorkflowStepStatusName;
  callId?: string | null;
  approvalRequestId?: string | null;
  result?: unknown;
  error?: string | null;
  finished: boolean;
}

type Tx = Prisma.TransactionClient;

const json = (value: unknown) => (value === undefined || value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue));

@Injectable()
export class WorkflowRepository {
  constructor(private readonly prisma: PrismaService) {}

  list(organizationId: string): Promise<WorkflowRecord[]> {
    return this.prisma.workflow.findMany({ where: { organizationId }, orderBy: { name: 'asc' } });
  }

  find(organizationId: string, name: string): Promise<WorkflowRecord | null> {
    return this.prisma.workflow.findUnique({ where: { organizationId_name: { organizationId, name } } });
  }

  /** Saves a new version (version 1 for a new name); `expectNew`: a name taken is a conflict, not an update. */
  async save(workflow: SavedWorkflow, expectNew: boolean): Promise<WorkflowRecord | 'exists'> {
    const { organizationId, name, definition, scheduleKeyId, configManaged, changedBy } = workflow;
    try {
      return await this.prisma.$transaction(async (tx) => {
        const current = await tx.workflow.findUnique({ where: { organizationId_name: { organizationId, name } } });
        if (current && expectNew) return 'exists' as const;
        const version = (current?.version ?? 0) + 1;
        const saved = current
          ? await tx.workflow.update({ where: { id: current.id }, data: { version, definition: definition as Prisma.InputJsonValue, scheduleKeyId, configManaged } })
          : await tx.workflow.create({ data: { organizationId, name, version, definition: definition as Prisma.InputJsonValue, scheduleKeyId, configManaged } });
        await tx.workflowVersion.create({ data: { workflowId: saved.id, version, definition: definition as Prisma.InputJsonValue, changedBy } });
        return saved;
      });
    } catch (error) {
      // Two creations of one name at once: the loser is told it exists.
      if (isUniqueViolation(error)) return 'exists';
      throw error;
    }
  }

  findById(id: string): Promise<WorkflowRecord | null> {
    return this.prisma.workflow.findUnique({ where: { id } });
  }

  /** Every workflow with a schedule, in every organization (a schedule is stored with the key it runs as). */
  scheduled(): Promise<ScheduledWorkflowRecord[]> {
    return this.prisma.workflow.findMany({ where: { scheduleKeyId: { not: null } }, select: { id: true, organizationId: true, name: true, definition: true } });
  }

  /**
   * The config file's workflows, in its transaction: each declared one saved (a new version) when it differs or
   * was not the file's; the file's own that it no longer declares deleted, with their runs.
   */
  async applyIn(tx: Tx, organizationId: string, desired: { spec: WorkflowSpec; scheduleKeyId: string | null }[]): Promise<{ created: number; updated: number; deleted: number }> {
    const existing = await tx.workflow.findMany({ where: { organizationId } });
    const byName = new Map(existing.map((row) => [row.name, row]));
    const changes = { created: 0, updated: 0, deleted: 0 };
    for (const { spec, scheduleKeyId } of desired) {
      const row = byName.get(spec.name);
      const definition = storedWorkflow(spec) as Prisma.InputJsonValue;
      if (row?.configManaged && row.scheduleKeyId === scheduleKeyId && isDeepStrictEqual(row.definition, definition)) continue;
      const version = (row?.version ?? 0) + 1;
      const saved = row
        ? await tx.workflow.update({ where: { id: row.id }, data: { version, definition, scheduleKeyId, configManaged: true } })
        : await tx.workflow.create({ data: { organizationId, name: spec.name, version, definition, scheduleKeyId, configManaged: true } });
      await tx.workflowVersion.create({ data: { workflowId: saved.id, version, definition, changedBy: 'config-file' } });
      if (row) changes.updated++;
      else changes.created++;
    }
    const wanted = new Set(desired.map(({ spec }) => spec.name));
    const stale = existing.filter((row) => row.configManaged && !wanted.has(row.name)).map((row) => row.id);
    if (stale.length) changes.deleted += (await tx.workflow.deleteMany({ where: { id: { in: stale } } })).count;
    return changes;
  }

  async remove(organizationId: string, name: string): Promise<boolean> {
    const removed = await this.prisma.workflow.deleteMany({ where: { organizationId, name } });
    return removed.count > 0;
  }

  /** The definition a run executes: the version it was started on. */
  async definitionOf(versionId: string): Promise<unknown> {
    const version = await this.prisma.workflowVersion.findUnique({ where: { id: versionId }, select: { definition: true } });
    return version?.definition ?? null;
  }

  /**
   * A run of the workflow's current version, queued. Null when the workflow is gone; 'duplicate' when a run for
   * the same schedule fire time exists already.
   */
  async createRun(run: NewWorkflowRun): Promise<WorkflowRunRecord | null | 'duplicate'> {
    const workflow = await this.prisma.workflow.findUnique({ where: { organizationId_name: { organizationId: run.organizationId, name: run.workflowName } } });
    if (!workflow) return null;
    const version = await this.prisma.workflowVersion.findUniqueOrThrow({ where: { workflowId_version: { workflowId: workflow.id, version: workflow.version } } });
    try {
      return (await this.prisma.workflowRun.create({ data: { ...run, inputs: run.inputs as Prisma.InputJsonValue, versionId: version.id, version: version.version } })) as WorkflowRunRecord;
    } catch (error) {
      if (run.scheduledFor && isUniqueViolation(error)) return 'duplicate';
      throw error;
    }
  }

  findRun(organizationId: string, id: string): Promise<WorkflowRunRecord | null> {
    return this.prisma.workflowRun.findFirst({ where: { id, organizationId } }) as Promise<WorkflowRunRecord | null>;
  }

  findRunById(id: string): Promise<WorkflowRunRecord | null> {
    return this.prisma.workflowRun.findUnique({ where: { id } }) as Promise<WorkflowRunRecord | null>;
  }

  /** Newest first; `starterSubject`: only the runs that credential or person started. */
  listRuns(organizationId: string, filter: { workflowName?: string; starterSubject?: string; before?: string; limit: number }): Promise<WorkflowRunRecord[]> {
    return this.prisma.workflowRun.findMany({
      where: {
        organizationId,
        ...(filter.workflowName ? { workflowName: filter.workflowName } : {}),
        ...(filter.starterSubject ? { starterSubject: filter.starterSubject } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      ...(filter.before ? { cursor: { id: filter.before }, skip: 1 } : {}),
      take: filter.limit,
    }) as Promise<WorkflowRunRecord[]>;
  }

  /** A new run that waits for its approval before anyone executes it. */
  async markWaiting(id: string): Promise<void> {
    await this.prisma.workflowRun.updateMany({ where: { id, status: 'queued' }, data: { status: 'waiting_approval' } });
  }

  /** The steps of several runs at once, in order within each run. */
  stepsOf(runIds: string[]): Promise<WorkflowRunStepRecord[]> {
    return this.prisma.workflowRunStep.findMany({ where: { runId: { in: runIds } }, orderBy: [{ runId: 'asc' }, { index: 'asc' }] }) as Promise<WorkflowRunStepRecord[]>;
  }

  steps(runId: string): Promise<WorkflowRunStepRecord[]> {
    return this.prisma.workflowRunStep.findMany({ where: { runId }, orderBy: { index: 'asc' } }) as Promise<WorkflowRunStepRecord[]>;
  }

  /**
   * Takes the run for `ms` unless another process holds an unexpired lease or it has finished. The lease is what
   * makes one process at a time advance a run.
   */
  async lease(id: string, owner: string, ms: number): Promise<WorkflowRunRecord | null> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE workflow_runs SET lease_owner = ${owner}, lease_until = now() + ${ms} * interval '1 millisecond'
      WHERE id = ${id}::uuid AND status NOT IN ('succeeded', 'failed', 'cancelled')
        AND (lease_until IS NULL OR lease_until < now() OR lease_owner = ${owner})
      RETURNING id`;
    return rows.length ? this.findRunById(id) : null;
  }

  /** False when the lease was lost (expired and taken by another process): the holder must stop. */
  async renewLease(id: string, owner: string, ms: number): Promise<boolean> {
    const renewed = await this.prisma.$executeRaw`
      UPDATE workflow_runs SET lease_until = now() + ${ms} * interval '1 millisecond' WHERE id = ${id}::uuid AND lease_owner = ${owner}`;
    return renewed > 0;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.prisma.workflowRun.updateMany({ where: { id, leaseOwner: owner }, data: { leaseOwner: null, leaseUntil: null } });
  }

  /** Runs not finished whose lease lapsed (their process died) or that nobody took yet: for the recovery sweep. */
  async stranded(olderThan: Date, limit: number): Promise<{ id: string }[]> {
    return this.prisma.workflowRun.findMany({
      where: {
        status: { in: ['queued', 'running'] },
        createdAt: { lt: olderThan },
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: new Date() } }],
      },
      select: { id: true },
      take: limit,
    });
  }

  async update(id: string, owner: string, data: { status?: WorkflowRunStatusName; nextStep?: number; result?: unknown; error?: string | null; startedAt?: Date; finishedAt?: Date }): Promise<boolean> {
    const { result, ...rest } = data;
    const updated = await this.prisma.workflowRun.updateMany({
      where: { id, leaseOwner: owner },
      data: { ...rest, ...(result === undefined ? {} : { result: json(result) }) },
    });
    return updated.count > 0;
  }

  /**
   * Asks the holder to stop (its call in flight is abandoned), with the reason as the run's error; a run nobody is
   * executing (queued, waiting) is cancelled at once.
   */
  async requestCancel(organizationId: string, id: string, now: Date, reason: string): Promise<WorkflowRunRecord | null> {
    await this.prisma.$transaction(async (tx) => {
      await tx.workflowRun.updateMany({ where: { id, organizationId, status: { notIn: [...FINISHED_RUN_STATUSES] } }, data: { cancelRequested: true, error: reason } });
      const stopped = await tx.workflowRun.updateMany({
        where: { id, organizationId, status: { in: ['queued', 'waiting_approval'] }, OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }] },
        data: { status: 'cancelled', finishedAt: now, error: reason },
      });
      // The step that waited for its approval ends with the run: its held call is not made if approved later.
      if (stopped.count > 0) await tx.workflowRunStep.updateMany({ where: { runId: id, status: 'waiting_approval' }, data: { status: 'cancelled', error: reason, finishedAt: now } });
    });
    return this.findRun(organizationId, id);
  }

  /**
   * The claim of a step: inserted as running once. False when the row exists already (a step never starts twice).
   */
  async startStep(step: { runId: string; index: number; stepId: string; tool: string; status: WorkflowStepStatusName; arguments?: unknown }): Promise<boolean> {
    try {
      await this.prisma.workflowRunStep.create({ data: { ...step, arguments: json(step.arguments) } });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async endStep(runId: string, index: number, end: StepEnd): Promise<void> {
    const { finished, result, ...rest } = end;
    await this.prisma.workflowRunStep.update({
      where: { runId_index: { runId, index } },
      data: { ...rest, ...(result === undefined ? {} : { result: json(result) }), ...(finished ? { finishedAt: new Date() } : {}) },
    });
  }
}
