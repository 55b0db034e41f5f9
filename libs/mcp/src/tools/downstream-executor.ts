import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { CallToolResult, CallToolResultSchema, McpError, Progress } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { CallOutcome, ResolvedTool } from '@gatehouse/connections';
import { Principal } from '@gatehouse/identity';
import { CallTracker } from './call-tracker';
import type { CallContext } from './tool-call.dispatcher';
import { errorResult } from './tool-results';

// Steps 5-8 of the call pipeline (DESIGN.md) for a call that may go ahead: the same for a call made now and for
// an approved call run later by a job. Downstream failures become tool results with isError.
@Injectable()
export class DownstreamExecutor {
  private readonly logger = new Logger(DownstreamExecutor.name);

  constructor(private readonly tracker: CallTracker) {}

  async execute(
    principal: Principal,
    resolved: ResolvedTool,
    name: string,
    args: Record<string, unknown>,
    context: CallContext,
    finish: (outcome: CallOutcome) => void,
  ): Promise<CallToolResult> {
    if (this.tracker.isDraining) {
      finish('unavailable');
      return errorResult('Gatehouse is shutting down; retry the call in a moment.');
    }

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
