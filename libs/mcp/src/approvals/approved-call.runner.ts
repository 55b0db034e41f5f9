import { Injectable, Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CallAuditor } from '@gatehouse/audit';
import { CallOutcome, ConnectionRegistry, GatewayMetrics } from '@gatehouse/connections';
import { ApprovalRepository, ApprovalRequestRecord } from '@gatehouse/db';
import { ApprovalEvents } from '@gatehouse/governance';
import { Principal } from '@gatehouse/identity';
import { callAuditStart } from '../tools/call-audit-start';
import { DownstreamExecutor } from '../tools/downstream-executor';
import { CallContext } from '../tools/tool-call.dispatcher';
import { errorResult, refused } from '../tools/tool-results';

// Runs an approved call exactly once, as its requester, through the same downstream steps as any call
// (budget, downstream, result check), and stores the result for gatehouse_get_approval.
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
  ) {}

  async run(requestId: string): Promise<void> {
    // The claim is the "exactly once": a retried job, or a second one, finds it taken.
    if (!(await this.approvals.claimForExecution(requestId, new Date()))) return;
    const request = (await this.approvals.findById(requestId))!;
    const { status, result } = await this.execute(request);
    await this.approvals.recordResult(requestId, status, result);
    this.logger.log({ requestId, tool: request.toolName, status }, 'Approved call run');
    await this.events.publish({ requestId, organizationId: request.organizationId, requesterSubject: request.requesterSubject, status });
  }

  private async execute(request: ApprovalRequestRecord): Promise<{ status: 'executed' | 'failed'; result: CallToolResult }> {
    const requester = requesterOf(request);
    const context: CallContext = { signal: new AbortController().signal, approvalRequestId: request.id };
    // Audited in the requester's name (as approved), with the approval id on both records.
    const target = { type: 'tool' as const, connection: request.connectionName, tool: request.toolName, downstreamTool: request.downstreamTool };
    const audit = await this.auditor.begin(callAuditStart(requester, context, target, request.arguments));
    audit.decided({ effect: 'allow', rule: { id: null, name: 'approved' } });
    const resolved = this.registry.resolve(request.organizationId, request.toolName);
    // Only the call that was approved may run: the same downstream tool, with a definition nobody holds back.
    if (!resolved || resolved.heldBack || resolved.tool.downstreamName !== request.downstreamTool) {
      const message = `"${request.toolName}" is not available any more in the form that was approved; the call was not made.`;
      return { status: 'failed', result: await refused(audit, 'unavailable', errorResult(message)) };
    }
    const started = performance.now();
    const finish = (outcome: CallOutcome) =>
      this.metrics.recordCall(request.organizationId, resolved.runtime.name, outcome, (performance.now() - started) / 1000);
    const result = await this.executor.execute(requester, resolved, request.toolName, request.arguments, context, finish, audit);
    return { status: 'executed', result };
  }
}

/** The requester as they were when they asked: whose budget the call uses and in whose name it runs. */
function requesterOf(request: ApprovalRequestRecord): Principal {
  return {
    kind: request.requesterKind === 'oauth' ? 'oauth' : 'api_key',
    subject: request.requesterSubject,
    organizationId: request.organizationId,
    organizationSlug: '',
    role: request.requesterRole,
    access: 'read_write',
    apiKeyId: request.requesterApiKeyId ?? '',
    userId: request.requesterUserId,
    userEmail: request.requesterEmail,
    rootKeyId: null,
    clientId: null,
    client: null,
    name: request.requesterName,
  };
}
