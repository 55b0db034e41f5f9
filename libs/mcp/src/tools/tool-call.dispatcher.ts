import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolResult,
  CallToolResultSchema,
  ErrorCode as RpcErrorCode,
  McpError,
  Progress,
  ServerNotification,
  ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { CallOutcome, ConnectionRegistry, GatewayMetrics } from '@gatehouse/connections';
import { ToolAccessPolicy } from '@gatehouse/governance';
import { Principal } from '@gatehouse/identity';
import { ManagementTools } from '../management/management-tools';
import { CallTracker } from './call-tracker';
import { ProtocolError } from './protocol-error';
import { errorResult } from './tool-results';

export type McpRequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a call needs from the exchange that carries it, whichever transport code runs that exchange. */
export interface CallContext {
  signal: AbortSignal;
  /** Relays progress to the caller; absent when the caller sent no progressToken. */
  sendProgress?: (progress: Progress) => Promise<void>;
}

/** The context of a call the SDK's Server handles (see ToolCallExchange for the other kind). */
export function sdkCallContext(extra: McpRequestExtra): CallContext {
  const progressToken = extra._meta?.progressToken;
  return {
    signal: extra.signal,
    ...(progressToken === undefined
      ? {}
      : {
          sendProgress: (progress: Progress) =>
            extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }),
        }),
  };
}

// The call pipeline for downstream tools (DESIGN.md): resolve → check access → validate arguments →
// call the downstream with timeout, cancellation and progress → map the outcome into a tool result.
@Injectable()
export class ToolCallDispatcher {
  private readonly logger = new Logger(ToolCallDispatcher.name);

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly management: ManagementTools,
    private readonly metrics: GatewayMetrics,
    private readonly tracker: CallTracker,
    private readonly access: ToolAccessPolicy,
  ) {}

  /**
   * An OAuth client holding only read scope calls a tool not marked read-only: MCP's scope challenge (HTTP 403
   * insufficient_scope) lets the client ask the person for more, instead of only failing.
   */
  needsWriteScope(principal: Principal, name: string): boolean {
    if (principal.kind !== 'oauth' || principal.access !== 'read_only') return false;
    if (this.management.has(name)) return !this.management.isReadOnly(name);
    const resolved = this.registry.resolve(principal.organizationId, name);
    return resolved !== null && !resolved.tool.readOnly;
  }

  /** tools/call for any tool: Gatehouse's own management tools, or a downstream tool. */
  call(principal: Principal, name: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult> {
    return this.management.has(name) ? this.management.call(principal, name, args) : this.callDownstream(principal, name, args, context);
  }

  private async callDownstream(
    principal: Principal,
    name: string,
    args: Record<string, unknown>,
    context: CallContext,
  ): Promise<CallToolResult> {
    const resolved = this.registry.resolve(principal.organizationId, name);
    if (!resolved) {
      throw new ProtocolError(RpcErrorCode.InvalidParams, `Unknown tool "${name}". Call tools/list for the available tools.`);
    }
    if (resolved.heldBack) return errorResult(resolved.heldBack.reason);
    const { runtime, tool } = resolved;
    const started = performance.now();
    const finish = (outcome: CallOutcome) =>
      this.metrics.recordCall(principal.organizationId, runtime.name, outcome, (performance.now() - started) / 1000);

    if (principal.access === 'read_only' && !tool.readOnly) {
      finish('denied');
      return errorResult(
        `Permission denied: this API key is read-only, and "${name}" is not marked read-only (readOnlyHint) by its server.`,
      );
    }
    const problem = tool.checkArguments(args);
    if (problem) {
      finish('invalid');
      return errorResult(`Invalid arguments for "${name}": ${problem}.`);
    }
    const decision = await this.access.decide(principal, { connection: runtime.name, tool: name, annotations: tool.definition.annotations }, args);
    if (decision.effect === 'deny') {
      finish('denied');
      const why = decision.rule.description ?? `role ${principal.role} may not call "${name}"`;
      return errorResult(`Permission denied: ${why} (policy rule "${decision.rule.name}").`);
    }
    if (decision.effect === 'require_approval') {
      // Approval requests are not built yet: fail closed, and say so.
      finish('approval_required');
      return errorResult(
        `Approval required: "${name}" needs the approval of ${decision.approval.approvals} ${decision.approval.approverRoles.join(' or ')} (policy rule "${decision.rule.name}"), and this Gatehouse cannot take approval requests yet. The call was not made.`,
      );
    }
    if (this.tracker.isDraining) {
      finish('unavailable');
      return errorResult('Gatehouse is shutting down; retry the call in a moment.');
    }

    // Progress is relayed in order and flushed before the result: a client drops progress that arrives
    // after the response to its request.
    let progressSent = Promise.resolve();
    const { sendProgress } = context;
    const onprogress = sendProgress
      ? (progress: Progress) => {
          progressSent = progressSent.then(() => sendProgress(progress)).catch(() => undefined);
        }
      : undefined;
    try {
      const result = await runtime.client.callTool(tool.downstreamName, args, {
        signal: context.signal,
        ...(onprogress ? { onprogress } : {}),
      });
      await progressSent;
      // Downstream results are passed through unparsed, so this is where a malformed one is caught.
      const checked = CallToolResultSchema.safeParse(result);
      if (!checked.success) {
        finish('error');
        return errorResult(`Connection "${runtime.name}" returned an invalid result for "${name}": ${checked.error.message}`);
      }
      finish(result.isError ? 'tool_error' : 'ok');
      return result;
    } catch (error) {
      return this.failure(error, name, runtime.name, context.signal, finish);
    }
  }

  private failure(
    error: unknown,
    name: string,
    connection: string,
    signal: AbortSignal,
    finish: (outcome: CallOutcome) => void,
  ): CallToolResult {
    if (signal.aborted) {
      finish('cancelled');
      return errorResult(`The call to "${name}" was cancelled.`);
    }
    if (error instanceof GatehouseError) {
      finish(error.code === ErrorCode.DownstreamTimeout ? 'timeout' : 'unavailable');
      return errorResult(error.message);
    }
    if (error instanceof McpError) {
      finish('error');
      return errorResult(`Connection "${connection}" returned an error for "${name}": ${error.message}`);
    }
    const errorId = randomUUID();
    this.logger.error({ err: error, errorId, tool: name }, 'Unexpected error calling a downstream tool');
    finish('error');
    return errorResult(`Gatehouse could not complete the call to "${name}" (error id ${errorId}).`);
  }
}
