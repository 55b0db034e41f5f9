import { Injectable } from '@nestjs/common';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '@gatehouse/config';
import type { Principal } from '@gatehouse/identity';
import { McpLimits } from '../limits/mcp-limits';
import { ThrottledCallAudit } from '../limits/throttled-call.audit';
import { McpServerFactory } from '../session/mcp-server.factory';
import { ToolCallDispatcher } from '../tools/tool-call.dispatcher';
import { ProtocolError } from '../tools/protocol-error';

// "Try a tool" in the dashboard: a person lists and calls tools over the admin API as themselves. Not a side door:
// the same tools/list filter and the same call pipeline as /mcp (limits, policy, approval, budget, audit), only the
// transport differs.
@Injectable()
export class ToolTrial {
  constructor(
    private readonly servers: McpServerFactory,
    private readonly dispatcher: ToolCallDispatcher,
    private readonly limits: McpLimits,
    private readonly throttled: ThrottledCallAudit,
  ) {}

  /** The tools this principal's tools/list would show. */
  list(principal: Principal): Promise<Tool[]> {
    return this.servers.visibleTools(principal);
  }

  /** One tools/call as the principal; `signal` aborts it when the browser goes away. */
  async call(principal: Principal, name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> {
    const admission = await this.limits.admitCalls(principal, 1);
    if (!admission.admitted) {
      void this.throttled.refused(principal, [{ name, args }], {}, admission.refusal);
      throw GatehouseError.rateLimited(admission.refusal.message, admission.refusal.retryAfterSeconds ?? 1);
    }
    try {
      return await this.dispatcher.call(principal, name, args, { signal });
    } catch (error) {
      // What /mcp answers as a JSON-RPC error (an unknown tool) is a bad request here.
      if (error instanceof ProtocolError) throw GatehouseError.invalid(error.message);
      throw error;
    } finally {
      admission.release();
    }
  }
}
