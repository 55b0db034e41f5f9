import { Injectable, Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CallAuditor } from '@gatehouse/audit';
import { CallOutcome, ConnectionRegistry, GatewayMetrics } from '@gatehouse/connections';
import { ApprovalRepository, ApprovalRequestRecord, FINISHED_RUN_STATUSES, WorkflowRepository } from '@gatehouse/db';
import { ApprovalEvents, PolicyResource, WorkflowWake } from '@gatehouse/governance';
import { ApiKeyService, Principal } from '@gatehouse/identity';
import { ManagementTools } from '../management/management-tools';
import { PolicyGate } from '../tools/policy-gate';
import { callAuditStart } from '../tools/call-audit-start';
import { DownstreamExecutor } from '../tools/downstream-executor';
import { CallContext } from '../tools/tool-call.dispatcher';
import { errorResult, refused } from '../tools/tool-results';

// Runs an approved call exactly once, as its requester, through the same downstream steps as any call
// (budget, downstream, result check), and stores the result for gatehouse_get_approval. The requester is
// checked again first: a credential revoked, a person removed or a policy that now denies them ends the
// request failed, with the reason as its result.
@Injectable()
export class ApprovedCallRunner {
  private readonly logger = new Logger(ApprovedCallRunner.name);

  constructor(
    private readonly approvals: ApprovalRepository,
    private readonly registry: ConnectionRegistry,
    private readonly executor: DownstreamExecutor,
    private readonly metrics: GatewayMetrics,
    private readonly events: ApprovalEvents,
    private readonly auditor: CallAuditor,
    private readonly management: ManagementTools,
    private readonly apiKeys: ApiKeyService,
    private readonly gate: PolicyGate,
    private readonly workflows: WorkflowWake,
    private readonly runs: WorkflowRepository,
  ) {}

  async run(requestId: string): Promise<void> {
    // The claim is the "exactly once": a retried job, or a second one, finds it taken.
    if (!(await this.approvals.claimForExecution(requestId, new Date()))) return;
    const request = (await this.approvals.findById(requestId))!;
    const stopped = request.workflowRunId ? await this.stoppedRun(request.workflowRunId) : null;
    // A whole workflow run's approval holds no call: approving it lets the run start.
    const { status, result } =
      request.workflowRunId && request.workflowStep === null ? (stopped ? { status: 'failed' as const, result: errorResult(stopped) } : RUN_APPROVED) : await this.execute(request, stopped);
    await this.approvals.recordResult(requestId, status, result);
    this.logger.log({ requestId, tool: request.toolName, status }, 'Approved call run');
    await this.events.publish({ requestId, organizationId: request.organizationId, requesterSubject: request.requesterSubject, requesterIdentity: request.requesterIdentity, approverRoles: request.approverRoles, status });
    if (request.workflowRunId) await this.workflows.wake(request.workflowRunId);
  }

  /**
   * Why a workflow run's held call must not be made any more: the run was cancelled (or has ended) while it waited.
   * Null while the run still waits for it. A cancellation landing between this read and the call does not stop it.
   */
  private async stoppedRun(runId: string): Promise<string | null> {
    const run = await this.runs.findRunById(runId);
    if (!run) return `The approved call was not made: its workflow run ${runId} no longer exists.`;
    if (!FINISHED_RUN_STATUSES.includes(run.status) && !run.cancelRequested) return null;
    const state = run.status === 'cancelled' || run.cancelRequested ? 'was cancelled' : `has ${run.status}`;
    return `The approved call was not made: its workflow run ${run.id} ${state}${run.error ? ` (${run.error})` : ''}.`;
  }

  private async execute(request: ApprovalRequestRecord, stopped: string | null): Promise<{ status: 'executed' | 'failed'; result: CallToolResult }> {
    const asked = requesterOf(request);
    const context: CallContext = {
      signal: new AbortController().signal,
      approvalRequestId: request.id,
      ...(request.workflowRunId && request.workflowStep !== null && request.workflowStep !== undefined ? { workflow: { runId: request.workflowRunId, step: request.workflowStep } } : {}),
    };
    const name = request.toolName;
    // Audited in the requester's name (as approved), with the approval id on both records.
    const target = { type: 'tool' as const, connection: request.connectionName, tool: name, downstreamTool: request.downstreamTool };
    const audit = await this.auditor.begin(callAuditStart(asked, context, target, request.arguments, this.management.redactPaths(name)));
    if (stopped) {
      audit.decided({ effect: 'deny', rule: { id: null, name: 'workflow-run-stopped' } });
      return { status: 'failed', result: await refused(audit, 'denied', errorResult(stopped)) };
    }
    const ownTool = this.management.policyResource(name);
    const resolved = ownTool ? null : this.registry.resolve(request.organizationId, name);
    // Only the call that was approved may run: the same tool (downstream: with a definition nobody holds back).
    if (!ownTool && (!resolved || resolved.heldBack || resolved.tool.downstreamName !== request.downstreamTool)) {
      audit.decided(APPROVED);
      const message = `"${name}" is not available any more in the form that was approved; the call was not made.`;
      return { status: 'failed', result: await refused(audit, 'unavailable', errorResult(message)) };
    }
    // The requester as they are now: approval does not outlive their credential, their membership, or their rights.
    const requester = request.requesterApiKeyId ? await this.apiKeys.current(request.organizationId, request.requesterApiKeyId) : null;
    if (!requester) {
      audit.decided({ effect: 'deny', rule: { id: null, name: 'requester-no-longer-authenticates' } });
      const message = `The approved call was not made: the credential that requested it no longer works (revoked, or its person is no longer a member of the organization).`;
      return { status: 'failed', result: await refused(audit, 'denied', errorResult(message)) };
    }
    const resource: PolicyResource = ownTool ?? { connection: resolved!.runtime.name, tool: name, annotations: resolved!.tool.definition.annotations };
    const decision = (resolved && (await this.gate.readOnlyDenial(requester, resolved, name))) ?? (await this.gate.decide(requester, resource, request.arguments));
    if (decision.effect === 'deny') {
      audit.decided({ effect: 'deny', rule: { id: decision.rule.id, name: decision.rule.name } });
      const message = `The approved call was not made: the requester may not make it any more: ${decision.why}.`;
      return { status: 'failed', result: await refused(audit, 'denied', errorResult(message)) };
    }
    audit.decided(APPROVED);
    if (!resolved) {
      const result = await this.management.runApproved(requester, name, request.arguments, audit);
      return { status: result.isError ? 'failed' : 'executed', result };
    }
    const started = performance.now();
    const finish = (outcome: CallOutcome) =>
      this.metrics.recordCall(request.organizationId, resolved.runtime.name, outcome, (performance.now() - started) / 1000);
    const result = await this.executor.execute(requester, resolved, name, request.arguments, context, finish, audit);
    return { status: 'executed', result };
  }
}

const APPROVED = { effect: 'allow' as const, rule: { id: null, name: 'approved' } };
const RUN_APPROVED = { status: 'executed' as const, result: { content: [{ type: 'text' as const, text: 'Approved: the workflow run goes ahead.' }] } };

/** The requester as they were when they asked: in whose name the call is audited. */
function requesterOf(request: ApprovalRequestRecord): Principal {
  return {
    kind: request.requesterKind === 'oauth' ? 'oauth' : 'api_key',
    subject: request.requesterSubject,
    organizationId: request.organizationId,
    organizationSlug: '',
    role: request.requesterRole,
    access: 'read_write',
    // A person approved this very call: whatever the requester's scope allowed then, the approval settles it.
    administration: true,
    apiKeyId: request.requesterApiKeyId ?? '',
    userId: request.requesterUserId,
    userEmail: request.requesterEmail,
    rootKeyId: null,
    clientId: null,
    client: null,
    endpoint: null,
    name: request.requesterName,
  };
}
