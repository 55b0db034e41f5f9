import { Injectable } from '@nestjs/common';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { CallToolResult, ErrorCode as RpcErrorCode, Progress, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { CallAuditor, CallAuditStart, CallTarget } from '@gatehouse/audit';
import { CallOutcome, catalogResource, ConnectionRegistry, GatewayMetrics, ResolvedTool } from '@gatehouse/connections';
import { EndpointView, WHOLE_ORGANIZATION } from '@gatehouse/governance';
import { Principal } from '@gatehouse/identity';
import { ManagementTools } from '../management/management-tools';
import { ClientChannel } from '../relay/client-channel';
import { AuditContext, callAuditStart } from './call-audit-start';
import { DownstreamExecutor } from './downstream-executor';
import { PolicyGate } from './policy-gate';
import { ProtocolError } from './protocol-error';
import { errorResult, refused } from './tool-results';

export type McpRequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a call needs from the exchange that carries it, whichever transport code runs that exchange. */
export interface CallContext {
  signal: AbortSignal;
  /** Relays progress to the caller; absent when the caller sent no progressToken. */
  sendProgress?: (progress: Progress) => Promise<void>;
  /** Set when the call is an approved request being run: its usage record points back to it. */
  approvalRequestId?: string;
  /** The W3C trace id of the request, when the caller sent one. */
  traceId?: string;
  /** Set when the call is a workflow run's step: recorded with the call, and on an approval request it causes. */
  workflow?: { runId: string; step: number };
  /** Told the call's audit id as soon as there is one (a workflow step links to its tools.call records). */
  onCallId?: (callId: string) => void;
  /** The door the call came through (/mcp/<endpoint>): what it serves and under which names. Absent: /mcp. */
  endpoint?: EndpointView;
  /**
   * The client of the session that made the call, on the call's own stream: the downstream's elicitation, sampling
   * and log messages go to it (ClientRelay). Absent when no client is there to ask (approved calls, workflows).
   */
  client?: ClientChannel;
}

/** The context of a call the SDK's Server handles (see ToolCallExchange for the other kind). */
export function sdkCallContext(extra: McpRequestExtra, client: ClientChannel): CallContext {
  const progressToken = extra._meta?.progressToken;
  const traceId = traceIdOf(extra.requestInfo?.headers['traceparent']);
  const endpoint = extra.authInfo?.extra?.['endpoint'] as EndpointView | undefined;
  return {
    signal: extra.signal,
    ...(endpoint ? { endpoint } : {}),
    client,
    ...(traceId ? { traceId } : {}),
    ...(progressToken === undefined
      ? {}
      : {
          sendProgress: (progress: Progress) =>
            extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }),
        }),
  };
}

/** The trace id of a W3C traceparent header (version-traceid-parentid-flags). */
export function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  const match = typeof traceparent === 'string' ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim()) : null;
  return match && !/^0+$/.test(match[1]!) ? match[1] : undefined;
}

// The call pipeline for downstream tools (DESIGN.md): resolve → check access → validate arguments →
// call the downstream with timeout, cancellation and progress → map the outcome into a tool result.
@Injectable()
export class ToolCallDispatcher {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly management: ManagementTools,
    private readonly metrics: GatewayMetrics,
    private readonly gate: PolicyGate,
    private readonly executor: DownstreamExecutor,
    private readonly auditor: CallAuditor,
  ) {}

  /**
   * An OAuth client holding only read scope calls a tool not marked read-only: MCP's scope challenge (HTTP 403
   * insufficient_scope) lets the client ask the person for more, instead of only failing.
   */
  async needsWriteScope(principal: Principal, exposed: string, door: EndpointView = WHOLE_ORGANIZATION): Promise<boolean> {
    const name = door.canonicalName(exposed);
    if (principal.kind !== 'oauth' || principal.access !== 'read_only' || name === null) return false;
    if (this.management.has(name)) return !this.management.isReadOnly(name);
    const resolved = this.registry.resolve(principal.organizationId, name);
    return resolved !== null && (await this.gate.readOnlyDenial(principal, resolved, name)) !== null;
  }

  /** How a call is audited when it is refused before it is resolved any further (by a limit). */
  auditStart(principal: Principal, name: string, args: Record<string, unknown>, context: AuditContext): CallAuditStart {
    if (this.management.has(name)) return this.management.auditStart(principal, name, args, context);
    return callAuditStart(principal, context, toolTarget(name, this.registry.resolve(principal.organizationId, name)), args);
  }

  /**
   * tools/call for any tool: Gatehouse's own management tools, or a downstream tool. `exposed` is the name at the
   * call's door; everything after this decides and records on the canonical name. A tool outside the door's
   * selection is unknown there, as one that does not exist: no record, no downstream call.
   */
  async call(principal: Principal, exposed: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult> {
    const door = context.endpoint ?? WHOLE_ORGANIZATION;
    const name = door.canonicalName(exposed);
    if (name === null) throw unknownTool(exposed);
    const builtIn = this.management.policyResource(name);
    if (builtIn) {
      if (!door.includesTool(builtIn)) throw unknownTool(exposed);
      return this.management.call(principal, name, args, context);
    }
    const resolved = this.registry.resolve(principal.organizationId, name);
    if (!resolved || !door.includesTool(catalogResource(resolved.tool))) throw unknownTool(exposed);
    return this.callDownstream(principal, name, resolved, args, context);
  }

  private async callDownstream(
    principal: Principal,
    name: string,
    resolved: ResolvedTool,
    args: Record<string, unknown>,
    context: CallContext,
  ): Promise<CallToolResult> {
    const { runtime, tool } = resolved;
    // Every call from here on leaves a request and an outcome record; refusals write both at once.
    const audit = await this.auditor.begin(callAuditStart(principal, context, toolTarget(name, resolved), args));
    context.onCallId?.(audit.callId);
    if (resolved.heldBack) return refused(audit, 'unavailable', errorResult(resolved.heldBack.reason));
    const started = performance.now();
    const finish = (outcome: CallOutcome) =>
      this.metrics.recordCall(principal.organizationId, runtime.name, outcome, (performance.now() - started) / 1000);

    const refusal = await this.gate.guard(audit, name, finish, async () => {
      const readOnly = await this.gate.readOnlyDenial(principal, resolved, name);
      const problem = readOnly ? null : tool.checkArguments(args);
      if (problem) {
        finish('invalid');
        return refused(audit, 'invalid', errorResult(`Invalid arguments for "${name}": ${problem}.`));
      }
      const held = { connectionName: runtime.name, toolName: name, downstreamTool: tool.downstreamName, arguments: args, ...(context.workflow ? { workflow: context.workflow } : {}) };
      return this.gate.check(principal, held, { connection: runtime.name, tool: name, annotations: tool.definition.annotations }, audit, finish, readOnly);
    });
    if (refusal) return refusal;
    return this.executor.execute(principal, resolved, name, args, context, finish, audit);
  }
}

function unknownTool(name: string): ProtocolError {
  return new ProtocolError(RpcErrorCode.InvalidParams, `Unknown tool "${name.slice(0, UNKNOWN_NAME_CHARS)}". Call tools/list for the available tools.`);
}

// Exposed names are at most 64 characters; a name that resolves to nothing is a caller's text, kept short.
const UNKNOWN_NAME_CHARS = 128;

/** The audit target of a call: its connection and downstream tool, or, for a name that resolves to nothing, the name. */
function toolTarget(name: string, resolved: ResolvedTool | null): CallTarget {
  if (resolved) return { type: 'tool', connection: resolved.runtime.name, tool: name, downstreamTool: resolved.tool.downstreamName };
  const tool = name.slice(0, UNKNOWN_NAME_CHARS);
  return { type: 'tool', connection: tool.split('_')[0]!, tool, downstreamTool: null };
}
