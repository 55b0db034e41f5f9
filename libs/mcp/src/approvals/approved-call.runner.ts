import { Injectable, Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionRegistry, GatewayMetrics } from '@gatehouse/connections';
import { ApprovalRepository, ApprovalRequestRecord } from '@gatehouse/db';
import { ApprovalEvents } from '@gatehouse/governance';
import { Principal } from '@gatehouse/identity';
import { DownstreamExecutor } from '../tools/downstream-executor';
import { errorResult } from '../tools/tool-results';

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
    const resolved = this.registry.resolve(request.organizationId, request.toolName);
    // Only the call that was approved may run: the same downstream tool, with a definition nobody holds back.
    if (!resolved || resolved.heldBack || resolved.tool.downstreamName !== request.downstreamTool) {
      return { status: 'failed', result: errorResult(`"${request.toolName}" is not available any more in the form that was approved; the call was not made.`) };
    }
    const started = performance.now();
    const result = await this.executor.execute(requesterOf(request), resolved, request.toolName, request.arguments, { signal: new AbortController().signal, approvalRequestId: request.id }, (outcome) =>
      this.metrics.recordCall(request.organizationId, resolved.runtime.name, outcome, (performance.now() - started) / 1000),
    );
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
    clientId: null,
    client: null,
    name: request.requesterName,
  };
}
