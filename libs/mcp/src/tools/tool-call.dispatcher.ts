import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolResult,
  ErrorCode as RpcErrorCode,
  McpError,
  Progress,
  ServerNotification,
  ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { CallOutcome, ConnectionRegistry, GatewayMetrics } from '@gatehouse/connections';
import { Principal } from '@gatehouse/identity';
import { CallTracker } from './call-tracker';
import { ProtocolError } from './protocol-error';
import { errorResult } from './tool-results';

export type McpRequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

// The call pipeline for downstream tools (DESIGN.md): resolve → check access → validate arguments →
// call the downstream with timeout, cancellation and progress → map the outcome into a tool result.
@Injectable()
export class ToolCallDispatcher {
  private readonly logger = new Logger(ToolCallDispatcher.name);

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly metrics: GatewayMetrics,
    private readonly tracker: CallTracker,
  ) {}

  async call(
    principal: Principal,
    name: string,
    args: Record<string, unknown>,
    extra: McpRequestExtra,
  ): Promise<CallToolResult> {
    const resolved = this.registry.resolve(principal.organizationId, name);
    if (!resolved) {
      throw new ProtocolError(RpcErrorCode.InvalidParams, `Unknown tool "${name}". Call tools/list for the available tools.`);
    }
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
    if (this.tracker.isDraining) {
      finish('unavailable');
      return errorResult('Gatehouse is shutting down; retry the call in a moment.');
    }

    // Progress is relayed in order and flushed before the result: a client drops progress that arrives
    // after the response to its request.
    let progressSent = Promise.resolve();
    const progressToken = extra._meta?.progressToken;
    const onprogress =
      progressToken === undefined
        ? undefined
        : (progress: Progress) => {
            progressSent = progressSent
              .then(() => extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }))
              .catch(() => undefined);
          };
    try {
      const result = await runtime.client.callTool(tool.downstreamName, args, {
        signal: extra.signal,
        ...(onprogress ? { onprogress } : {}),
      });
      await progressSent;
      finish(result.isError ? 'tool_error' : 'ok');
      return result;
    } catch (error) {
      return this.failure(error, name, runtime.name, extra, finish);
    }
  }

  private failure(
    error: unknown,
    name: string,
    connection: string,
    extra: McpRequestExtra,
    finish: (outcome: CallOutcome) => void,
  ): CallToolResult {
    if (extra.signal.aborted) {
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
