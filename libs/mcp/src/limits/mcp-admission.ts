import { Injectable } from '@nestjs/common';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '@gatehouse/identity';
import { setHeaders, writeLimitRefusal } from './limit-refusal';
import { McpLimits } from './mcp-limits';
import { ThrottledCallAudit } from './throttled-call.audit';

/** A tools/call request of a POST, as it arrived. */
export interface ArrivedCall {
  id: RequestId;
  name: string;
  args: Record<string, unknown>;
}

/** The POST that carried the calls: its session and trace, and what a refusal answers. */
export interface CallExchange {
  /** Absent for the stateless revision, which has no sessions. */
  sessionId?: string;
  traceId?: string;
  /** The call's id; or, for a batch, the id of every request in it (answered with an array: none is run). */
  answers: RequestId | RequestId[];
}

// The limits at the MCP endpoint as HTTP sees them, the same on both paths a tools/call can take (McpFrontDoor's
// exchange and the SDK's transport): a refusal is answered at once with 429 and a JSON-RPC error, and audited within
// its bounds; what is admitted holds its slots until its response has been written or its client has gone.
@Injectable()
export class McpAdmission {
  constructor(
    private readonly limits: McpLimits,
    private readonly throttled: ThrottledCallAudit,
  ) {}

  /** A new session (the POST of its initialize): the release for its end, or null once the refusal is written. */
  session(principal: Principal, request: IncomingMessage & { body?: unknown }, response: ServerResponse): (() => void) | null {
    const admission = this.limits.admitSession(principal);
    if (admission.admitted) return admission.release;
    writeLimitRefusal(response, admission.refusal, (request.body as { id?: RequestId }).id ?? null);
    return null;
  }

  /** The tools/calls of one POST: true to go ahead, false once the refusal is written. */
  async calls(principal: Principal, calls: readonly ArrivedCall[], exchange: CallExchange, response: ServerResponse): Promise<boolean> {
    const admission = await this.limits.admitCalls(principal, calls.length);
    if (admission.admitted) {
      if (response.destroyed) admission.release();
      else response.once('close', admission.release);
      setHeaders(response, admission.headers);
      return true;
    }
    writeLimitRefusal(response, admission.refusal, exchange.answers, exchange.sessionId);
    void this.throttled.refused(principal, calls, exchange.traceId ? { traceId: exchange.traceId } : {}, admission.refusal);
    return false;
  }
}
