import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { CallToolResult, CallToolResultSchema, McpError, Progress } from '@modelcontextprotocol/sdk/types.js';
import { CallAudit } from '@gatehouse/audit';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { CallOutcome, CallPeer, ContentUris, ResolvedTool } from '@gatehouse/connections';
import { BudgetDecision, BudgetService, WHOLE_ORGANIZATION } from '@gatehouse/governance';
import { Principal } from '@gatehouse/identity';
import { ClientRelay } from '../relay/client-relay';
import { exposureOf } from '../session/door-exposure';
import { CallTracker } from './call-tracker';
import type { CallContext } from './tool-call.dispatcher';
import { errorResult, refused, textOf } from './tool-results';

/** How a downstream call ended; `answered`: the downstream produced a result, so the call is charged. */
interface DownstreamOutcome {
  result: CallToolResult;
  outcome: CallOutcome;
  answered: boolean;
}

// Steps 5-8 of the call pipeline (DESIGN.md) for a call that may go ahead: the same for a call made now and for
// an approved call run later by a job. Budget blocks, audit failures (fail closed) and downstream failures become
// tool results with isError.
@Injectable()
export class DownstreamExecutor {
  private readonly logger = new Logger(DownstreamExecutor.name);

  constructor(
    private readonly tracker: CallTracker,
    private readonly budgets: BudgetService,
    private readonly relay: ClientRelay,
  ) {}

  async execute(
    principal: Principal,
    resolved: ResolvedTool,
    name: string,
    args: Record<string, unknown>,
    context: CallContext,
    finish: (outcome: CallOutcome) => void,
    audit: CallAudit,
  ): Promise<CallToolResult> {
    if (this.tracker.isDraining) {
      finish('unavailable');
      return refused(audit, 'unavailable', errorResult('Gatehouse is shutting down; retry the call in a moment.'));
    }
    let budget: BudgetDecision;
    try {
      budget = await this.budgets.reserve({
        principal,
        connection: resolved.runtime.name,
        tool: resolved.tool.downstreamName,
        ...(context.approvalRequestId ? { approvalRequestId: context.approvalRequestId } : {}),
      });
    } catch (error) {
      // Fail closed: a budget that cannot be checked lets no call through.
      const errorId = randomUUID();
      this.logger.error({ err: error, errorId, tool: name }, 'Could not reserve the budget of a call');
      finish('error');
      return refused(audit, 'error', errorResult(`Gatehouse could not check the budget for "${name}" (error id ${errorId}); the call was not made.`));
    }
    if (budget.blocked) {
      finish('budget_blocked');
      return refused(audit, 'budget_blocked', errorResult(budget.message));
    }
    // Step 6, fail closed: nothing reaches the downstream before its request record is committed.
    const refusal = await audit.open();
    if (refusal) {
      finish('error');
      await budget.reservation.release('audit_failed');
      return errorResult(refusal.message);
    }
    const peer = context.client
      ? this.relay.peer({ principal, channel: context.client, callId: audit.callId, connection: resolved.runtime.name, tool: name, ...(context.traceId ? { traceId: context.traceId } : {}) })
      : undefined;
    const { result, outcome, answered } = await this.callDownstream(resolved, name, args, context, peer);
    finish(outcome);
    audit.close(outcome, {
      result,
      costMicros: answered ? budget.reservation.costMicros : 0n,
      ...(outcome === 'ok' || outcome === 'tool_error' ? {} : { error: textOf(result) }),
    });
    await (answered ? budget.reservation.settle(outcome) : budget.reservation.release(outcome));
    return result;
  }

  private async callDownstream(resolved: ResolvedTool, name: string, args: Record<string, unknown>, context: CallContext, peer: CallPeer | undefined): Promise<DownstreamOutcome> {
    // Progress is relayed in order and flushed before the result: a client drops progress that arrives
    // after the response to its request.
    let progressSent = Promise.resolve();
    const { sendProgress } = context;
    const { runtime, tool } = resolved;
    const onprogress = sendProgress
      ? (progress: Progress) => {
          progressSent = progressSent.then(() => sendProgress(progress)).catch(() => undefined);
        }
      : undefined;
    try {
      const result = await runtime.client.callTool(tool.downstreamName, args, {
        signal: context.signal,
        ...(onprogress ? { onprogress } : {}),
        ...(peer ? { peer } : {}),
      });
      await progressSent;
      // Downstream results are passed through unparsed, so this is where a malformed one is caught.
      const checked = CallToolResultSchema.safeParse(result);
      if (!checked.success) {
        const message = `Connection "${runtime.name}" returned an invalid result for "${name}": ${checked.error.message}`;
        return { result: errorResult(message), outcome: 'error', answered: true };
      }
      // Resource links and embedded resources name the downstream's URIs: shown as the gateway serves them.
      const exposed = new ContentUris(exposureOf(context.endpoint ?? WHOLE_ORGANIZATION), runtime.name).toolResult(result);
      return { result: exposed, outcome: result.isError ? 'tool_error' : 'ok', answered: true };
    } catch (error) {
      return { ...this.failure(error, name, runtime.name, context.signal), answered: false };
    }
  }

  private failure(error: unknown, name: string, connection: string, signal: AbortSignal): { result: CallToolResult; outcome: CallOutcome } {
    if (signal.aborted) return { result: errorResult(`The call to "${name}" was cancelled.`), outcome: 'cancelled' };
    if (error instanceof GatehouseError) {
      return { result: errorResult(error.message), outcome: outcomeOf(error.code) };
    }
    if (error instanceof McpError) {
      return { result: errorResult(`Connection "${connection}" returned an error for "${name}": ${error.message}`), outcome: 'error' };
    }
    const errorId = randomUUID();
    this.logger.error({ err: error, errorId, tool: name }, 'Unexpected error calling a downstream tool');
    return { result: errorResult(`Gatehouse could not complete the call to "${name}" (error id ${errorId}).`), outcome: 'error' };
  }
}

// A downstream that went over a cap did answer, wrongly (like an invalid result): an error, not an outage.
function outcomeOf(code: ErrorCode): CallOutcome {
  switch (code) {
    case ErrorCode.DownstreamTimeout:
      return 'timeout';
    case ErrorCode.DownstreamTooLarge:
      return 'error';
    default:
      return 'unavailable';
  }
}
