import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AuditRecorder, AuditRedactor, AuditSettingsService, systemActor } from '@gatehouse/audit';
import { WorkflowStep } from '@gatehouse/config';
import { ConnectionRegistry } from '@gatehouse/connections';
import { ApprovalRepository, FINISHED_RUN_STATUSES, WorkflowRepository, WorkflowRunRecord, WorkflowRunStepRecord, WorkflowStepStatusName } from '@gatehouse/db';
import { conditionHolds, ReferenceContext, resolveArguments, specOf, StepResultView } from '@gatehouse/governance';
import { ApiKeyService, MembershipService, personPrincipal, Principal } from '@gatehouse/identity';
import { ProtocolError } from '../tools/protocol-error';
import { ToolCallDispatcher } from '../tools/tool-call.dispatcher';
import { errorResult, textOf } from '../tools/tool-results';

// A run is advanced by one process at a time, the holder of its lease; the lease is renewed while it works and
// lapses when its process dies, so another can take the run over.
const LEASE_MS = 15_000;
const RENEW_MS = 5_000;
// What a step's result view keeps of its text, and what the run's result shows of each step.
const STEP_TEXT_MAX_CHARS = 64 * 1024;
const SUMMARY_TEXT_MAX_CHARS = 1_000;

/** The stored form of a step's result: what later steps' references read, across restarts and approvals. */
interface StoredResult extends StepResultView {
  textTruncated?: boolean;
}

type Advance = 'done' | 'busy';
// A step not started because its tool has not been listed in this process yet.
const DEFERRED = 'deferred';

/** A run as its lease holder sees it: `owner` is this advance's lease, checked by every write. */
type HeldRun = WorkflowRunRecord & { owner: string };

// Executes workflow runs (WorkflowRunService creates them): each step as a call of the person who started the run,
// through ToolCallDispatcher (policy, approval, budget, audit), its result kept for later steps' references.
@Injectable()
export class WorkflowExecutor {
  private readonly logger = new Logger(WorkflowExecutor.name);
  private readonly processName = `${hostname()}:${process.pid}`;

  constructor(
    private readonly runs: WorkflowRepository,
    private readonly approvals: ApprovalRepository,
    private readonly dispatcher: ToolCallDispatcher,
    private readonly registry: ConnectionRegistry,
    private readonly apiKeys: ApiKeyService,
    private readonly members: MembershipService,
    private readonly recorder: AuditRecorder,
    private readonly redactor: AuditRedactor,
    private readonly auditSettings: AuditSettingsService,
  ) {}

  /** 'busy': another process holds the run now (the job retries later); 'done': advanced as far as it goes now. */
  async advance(runId: string): Promise<Advance> {
    // One owner per advance, not per process: a second wake-up of a run this process is advancing (a cancellation,
    // an approval, a sweep) must find it held, not take it over and find its own step in flight "interrupted".
    const owner = `${this.processName}:${randomUUID()}`;
    const leased = await this.runs.lease(runId, owner, LEASE_MS);
    if (!leased) {
      const current = await this.runs.findRunById(runId);
      return !current || FINISHED_RUN_STATUSES.includes(current.status) ? 'done' : 'busy';
    }
    const run: HeldRun = { ...leased, owner };
    const stop = new AbortController();
    const heartbeat = setInterval(() => {
      this.runs
        .renewLease(runId, owner, LEASE_MS)
        .then(async (held) => {
          // Lost (the lease lapsed and another process took it), or cancelled: the call in flight is abandoned.
          if (!held || (await this.runs.findRunById(runId))?.cancelRequested) stop.abort();
        })
        .catch((error: unknown) => this.logger.warn({ err: error, runId }, 'Could not renew a workflow run lease'));
    }, RENEW_MS);
    let deferred = false;
    try {
      deferred = (await this.drive(run, stop.signal)) === DEFERRED;
    } catch (error) {
      this.logger.error({ err: error, runId }, 'Workflow run failed unexpectedly');
      await this.finish(run, 'failed', { error: `The run stopped on an unexpected error (${error instanceof Error ? error.message : String(error)})` });
    } finally {
      clearInterval(heartbeat);
      await this.runs.releaseLease(runId, owner);
    }
    return deferred ? 'busy' : 'done';
  }

  private async drive(run: HeldRun, stop: AbortSignal): Promise<void | typeof DEFERRED> {
    const spec = specOf(await this.runs.definitionOf(run.versionId));
    const done = await this.runs.steps(run.id);
    const context: ReferenceContext = { inputs: run.inputs as Record<string, unknown>, steps: {} };
    for (const row of done) if (row.result) context.steps[row.stepId] = row.result as StoredResult;

    if (run.cancelRequested) return this.finish(run, 'cancelled', { error: run.error ?? 'Cancelled' });
    if (run.status === 'waiting_approval' && !done.some((row) => row.status === 'waiting_approval')) {
      const request = await this.approvals.findForWorkflow(run.id, null);
      if (!request || request.status === 'pending' || request.status === 'approved') return;
      if (request.status !== 'executed') return this.finish(run, 'failed', { error: `The run was not approved: its approval request is ${request.status}.` });
      await this.record(run, 'workflow.run.resumed', 'success', { reason: 'approved' });
    }
    if (run.status !== 'running') await this.runs.update(run.id, run.owner, { status: 'running', ...(run.startedAt ? {} : { startedAt: new Date() }) });

    for (let index = run.nextStep; index < spec.steps.length; index++) {
      const step = spec.steps[index]!;
      const current = await this.runs.findRunById(run.id);
      if (!current || current.cancelRequested || stop.aborted) return this.finish(run, 'cancelled', { error: current?.error ?? 'Cancelled' });
      const row = done.find((candidate) => candidate.index === index);
      // A gateway just started (taking over a run after a restart) lists its connections' tools in the background:
      // a step is not failed as calling an unknown tool before they are listed; the job retries with backoff.
      if (!row && !this.registry.resolve(run.organizationId, step.tool) && this.registry.mayStillList(run.organizationId, step.tool)) return DEFERRED;
      const outcome = row ? await this.resume(run, index, step, row) : await this.execute(run, index, step, context, stop);
      if (outcome === 'waiting') return;
      if (outcome.result) context.steps[step.id] = outcome.result;
      if (outcome.status === 'interrupted') {
        return this.finish(run, 'failed', {
          error: `Step ${index + 1} ("${step.id}") was interrupted: the process running it stopped during the call. It is not run again, since the call may have reached "${step.tool}".`,
        });
      }
      // A step cancelled with its run ends the run whatever its onError says, with the cancellation's reason.
      if (outcome.status === 'cancelled') return this.finish(run, 'cancelled', { error: (await this.runs.findRunById(run.id))?.error ?? 'Cancelled' });
      if (outcome.status === 'failed' && step.onError === 'stop') return this.finish(run, 'failed', { error: `Step ${index + 1} ("${step.id}") failed: ${outcome.error}` });
      await this.runs.update(run.id, run.owner, { nextStep: index + 1 });
    }
    const outputs = Object.fromEntries(spec.steps.map((step) => [step.id, summary(context.steps[step.id])]));
    const last = spec.steps.at(-1)!;
    return this.finish(run, 'succeeded', { result: { outputs, text: context.steps[last.id]?.text ?? '' } });
  }

  /** A step this run has a row for: finished, waiting on its approval, or found running (its process died). */
  private async resume(run: HeldRun, index: number, step: WorkflowStep, row: WorkflowRunStepRecord): Promise<StepOutcome | 'waiting'> {
    const result = (row.result as StoredResult | null) ?? undefined;
    switch (row.status) {
      case 'running':
        await this.runs.endStep(run.id, index, { status: 'interrupted', error: 'The process running this step stopped during the call', finished: true });
        await this.record(run, 'workflow.step.interrupted', 'interrupted', { step: index, stepId: step.id, tool: step.tool, callId: row.callId });
        return { status: 'interrupted', error: 'interrupted' };
      case 'waiting_approval': {
        const request = await this.approvals.findForWorkflow(run.id, index);
        if (!request || request.status === 'pending' || request.status === 'approved') {
          await this.runs.update(run.id, run.owner, { status: 'waiting_approval' });
          return 'waiting';
        }
        if (request.status === 'executed' || request.status === 'failed') {
          const called = (request.result ?? errorResult('The approved call left no result')) as CallToolResult;
          const outcome = stepOutcome(called);
          await this.runs.endStep(run.id, index, { status: outcome.status, result: outcome.result, error: outcome.error ?? null, finished: true });
          await this.runs.update(run.id, run.owner, { status: 'running' });
          await this.record(run, 'workflow.run.resumed', 'success', { step: index, stepId: step.id, approvalRequestId: request.id });
          await this.record(run, `workflow.step.${outcome.status}`, outcome.status, { step: index, stepId: step.id, tool: step.tool, approvalRequestId: request.id });
          return outcome;
        }
        const error = `its approval request was ${request.status}`;
        await this.runs.endStep(run.id, index, { status: 'failed', error, finished: true });
        await this.record(run, 'workflow.step.failed', 'failed', { step: index, stepId: step.id, tool: step.tool, approvalRequestId: request.id, error });
        return { status: 'failed', error };
      }
      default:
        return { status: row.status, ...(result ? { result } : {}), error: row.error ?? '' };
    }
  }

  private async execute(run: HeldRun, index: number, step: WorkflowStep, context: ReferenceContext, stop: AbortSignal): Promise<StepOutcome | 'waiting'> {
    const base = { runId: run.id, index, stepId: step.id, tool: step.tool };
    if (step.when && !conditionHolds(step.when, context)) {
      if (await this.runs.startStep({ ...base, status: 'skipped' })) await this.runs.endStep(run.id, index, { status: 'skipped', finished: true });
      await this.record(run, 'workflow.step.skipped', 'skipped', { step: index, stepId: step.id, tool: step.tool });
      return { status: 'skipped', error: '' };
    }
    const principal = await this.starter(run);
    if (!principal) {
      return { status: 'failed', error: 'the credential or person that started the run no longer works in this organization, so no further step is run' };
    }
    const args = resolveArguments(step.arguments, context);
    const settings = await this.auditSettings.forOrganization(run.organizationId);
    // The claim: a step's row is inserted once; whoever inserted it is the only one that calls.
    if (!(await this.runs.startStep({ ...base, status: 'running', arguments: this.redactor.shownArguments(args, settings) }))) return 'waiting';
    await this.record(run, 'workflow.step.started', 'pending', { step: index, stepId: step.id, tool: step.tool });
    let callId: string | null = null;
    let result: CallToolResult;
    try {
      result = await this.dispatcher.call(principal, step.tool, args, {
        signal: AbortSignal.any([stop, AbortSignal.timeout(step.timeoutSeconds * 1000)]),
        workflow: { runId: run.id, step: index },
        onCallId: (id) => (callId = id),
      });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      result = errorResult(error.message);
    }
    const held = result.isError ? await this.approvals.findForWorkflow(run.id, index) : null;
    if (held?.status === 'pending') {
      await this.runs.endStep(run.id, index, { status: 'waiting_approval', callId, approvalRequestId: held.id, finished: false });
      await this.runs.update(run.id, run.owner, { status: 'waiting_approval' });
      await this.record(run, 'workflow.run.paused', 'pending', { step: index, stepId: step.id, approvalRequestId: held.id, callId });
      return 'waiting';
    }
    const outcome = stop.aborted ? { status: 'cancelled' as const, result: stepOutcome(result).result, error: 'cancelled' } : stepOutcome(result);
    await this.runs.endStep(run.id, index, { status: outcome.status, callId, result: outcome.result, error: outcome.error ?? null, finished: true });
    await this.record(run, `workflow.step.${outcome.status}`, outcome.status, { step: index, stepId: step.id, tool: step.tool, callId, ...(outcome.error ? { error: outcome.error } : {}) });
    return outcome;
  }

  /** Who started the run, as they are now: a revoked key or a departed person runs nothing more. */
  private async starter(run: WorkflowRunRecord): Promise<Principal | null> {
    if (run.starterApiKeyId) return this.apiKeys.current(run.organizationId, run.starterApiKeyId);
    if (run.starterKind !== 'session' || !run.starterUserId) return null;
    const member = await this.members.find(run.organizationId, run.starterUserId).catch(() => null);
    return member ? personPrincipal({ id: run.organizationId, slug: '' }, member) : null;
  }

  private async finish(run: HeldRun, status: 'succeeded' | 'failed' | 'cancelled', end: { result?: unknown; error?: string }): Promise<void> {
    if (!(await this.runs.update(run.id, run.owner, { status, finishedAt: new Date(), ...(end.result === undefined ? {} : { result: end.result }), error: end.error ?? null }))) return;
    await this.record(run, `workflow.run.${status}`, status, end.error ? { error: end.error } : {});
    this.logger.log({ runId: run.id, workflow: run.workflowName, status }, 'Workflow run finished');
  }

  private record(run: WorkflowRunRecord, kind: string, outcome: string, data: Record<string, unknown>): Promise<void> {
    return this.recorder.record({
      organizationId: run.organizationId,
      kind,
      actor: systemActor('workflow-executor'),
      target: { type: 'workflow_run', id: run.id, workflow: run.workflowName, startedBy: run.starterName },
      outcome,
      data,
    });
  }
}

interface StepOutcome {
  status: WorkflowStepStatusName;
  result?: StoredResult;
  error: string;
}

/** A call's result as a step's: failed when the tool (or Gatehouse, refusing it) says it is an error. */
function stepOutcome(result: CallToolResult): StepOutcome & { result: StoredResult } {
  const text = textOf(result);
  const stored: StoredResult = {
    text: text.length > STEP_TEXT_MAX_CHARS ? text.slice(0, STEP_TEXT_MAX_CHARS) : text,
    isError: result.isError === true,
    status: result.isError ? 'failed' : 'succeeded',
    ...(result.structuredContent ? { structured: result.structuredContent } : {}),
    ...(text.length > STEP_TEXT_MAX_CHARS ? { textTruncated: true } : {}),
  };
  return { status: stored.status as WorkflowStepStatusName, result: stored, error: result.isError ? text.slice(0, SUMMARY_TEXT_MAX_CHARS) : '' };
}

function summary(result: StoredResult | undefined): { status: string; text?: string; structured?: unknown } {
  if (!result) return { status: 'skipped' };
  return { status: result.status, text: result.text.slice(0, SUMMARY_TEXT_MAX_CHARS), ...(result.structured === undefined ? {} : { structured: result.structured }) };
}
