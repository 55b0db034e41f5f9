import { Injectable, Logger } from '@nestjs/common';
import {
  ClientCapabilities,
  CreateMessageResultSchema,
  CreateMessageResultWithToolsSchema,
  ElicitResultSchema,
  ErrorCode as RpcErrorCode,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { AuditRecorder, AuditRedactor, AuditSettingsService } from '@gatehouse/audit';
import { CallPeer, DownstreamLog, RelayedRequest, RelayedResult } from '@gatehouse/connections';
import { auditActorOf, Principal } from '@gatehouse/identity';
import { ClientChannel, logLevelReaches } from './client-channel';

/** The call a peer serves: who made it, on which channel, and what it called. */
export interface RelayedCall {
  principal: Principal;
  channel: ClientChannel;
  /** The call's audit id: each relayed request's record carries it. */
  callId: string;
  connection: string;
  /** The tool as exposed. */
  tool: string;
  traceId?: string;
}

// A downstream asks a person (elicitation) or the client's model (sampling) during one call: a handful of requests
// is normal, a stream of them is a downstream hammering the client. Past these it is refused, at once.
export const MAX_RELAYS_IN_FLIGHT_PER_CALL = 4;
export const MAX_RELAYS_PER_CALL = 32;
// The answer goes to the downstream and into the audit log; a form's answer or a model's message is far smaller.
export const MAX_ANSWER_BYTES = 1024 * 1024;

type Outcome = 'success' | 'denied' | 'failure';

const KIND = { 'elicitation/create': 'mcp.elicitation.relayed', 'sampling/createMessage': 'mcp.sampling.relayed' } as const;

/**
 * Relays a downstream's elicitation and sampling requests to the client of the session that made the call, and the
 * call's log messages at or above the session's level. Each relayed request leaves one audit record with its outcome
 * (the answer's content redacted as call arguments are); refusals are JSON-RPC errors in our words, which the
 * downstream usually turns into its tool's error.
 */
@Injectable()
export class ClientRelay {
  private readonly logger = new Logger(ClientRelay.name);

  constructor(
    private readonly recorder: AuditRecorder,
    private readonly settings: AuditSettingsService,
    private readonly redactor: AuditRedactor,
  ) {}

  peer(call: RelayedCall): CallPeer {
    let inFlight = 0;
    let sent = 0;
    return {
      relay: async (request, signal) => {
        const started = Date.now();
        const refusal = missingCapability(request, call.channel.client.capabilities) ?? overLimit(inFlight, sent);
        if (refusal) {
          this.audit(call, request, 'denied', { error: refusal });
          throw new McpError(RpcErrorCode.InvalidRequest, refusal);
        }
        inFlight++;
        sent++;
        try {
          const result = checkedAnswer(request, await call.channel.request(request, signal));
          this.audit(call, request, 'success', { durationMs: Date.now() - started }, result);
          return result;
        } catch (error) {
          const failure = relayFailure(request, error, signal);
          this.audit(call, request, 'failure', { durationMs: Date.now() - started, error: failure.message });
          throw failure;
        } finally {
          inFlight--;
        }
      },
      log: (params) => {
        if (!logLevelReaches(params.level, call.channel.client.logLevel)) return;
        const logger = params.logger ? `${call.connection}/${params.logger}` : call.connection;
        call.channel.notify({ method: 'notifications/message', params: { ...params, logger } }).catch((error: unknown) => this.logger.debug({ err: error }, 'Could not relay a log message'));
      },
    };
  }

  private audit(call: RelayedCall, request: RelayedRequest, outcome: Outcome, fields: { durationMs?: number; error?: string }, result?: RelayedResult): void {
    void this.settings
      .forOrganization(call.principal.organizationId)
      .then((settings) =>
        this.recorder.record({
          organizationId: call.principal.organizationId,
          kind: KIND[request.method],
          actor: auditActorOf(call.principal),
          target: { type: 'tool', connection: call.connection, tool: call.tool },
          outcome,
          callId: call.callId,
          traceId: call.traceId ?? null,
          data: { ...describe(request), ...fields, ...(result ? answerFields(result, (content) => this.redactor.arguments(content, settings)) : {}) },
        }),
      )
      .catch((error: unknown) => this.logger.error({ err: error, callId: call.callId }, 'Could not record a relayed request'));
  }
}

/** Why the client cannot be asked this, or null. */
function missingCapability(request: RelayedRequest, capabilities: ClientCapabilities): string | null {
  if (request.method === 'elicitation/create') {
    const mode = request.params.mode ?? 'form';
    const declared = capabilities.elicitation;
    // The protocol's rule: a client that names neither mode supports form mode.
    const supported = declared !== undefined && (mode === 'url' ? declared.url !== undefined : declared.form !== undefined || declared.url === undefined);
    return supported ? null : `The client of this session did not declare the elicitation capability${mode === 'url' ? ' for URL mode' : ''} (in its initialize, or in the request's _meta for MCP 2026-07-28), so Gatehouse cannot ask it; the request was not relayed`;
  }
  if (!capabilities.sampling) return "The client of this session did not declare the sampling capability (in its initialize, or in the request's _meta for MCP 2026-07-28), so Gatehouse cannot ask it; the request was not relayed";
  if ((request.params.tools || request.params.toolChoice) && !capabilities.sampling.tools) {
    return "The client of this session did not declare sampling with tools (in its initialize, or in the request's _meta); the request was not relayed";
  }
  return null;
}

function overLimit(inFlight: number, sent: number): string | null {
  if (inFlight >= MAX_RELAYS_IN_FLIGHT_PER_CALL) return `Gatehouse relays at most ${MAX_RELAYS_IN_FLIGHT_PER_CALL} requests of one call to the client at a time; this one was refused`;
  if (sent >= MAX_RELAYS_PER_CALL) return `Gatehouse relays at most ${MAX_RELAYS_PER_CALL} requests of one call to the client; this one was refused`;
  return null;
}

/** The client's raw answer, checked against the protocol's schema and the size cap before it goes downstream. */
function checkedAnswer(request: RelayedRequest, raw: unknown): RelayedResult {
  const bytes = Buffer.byteLength(JSON.stringify(raw) ?? '');
  if (bytes > MAX_ANSWER_BYTES) {
    throw new McpError(RpcErrorCode.InvalidRequest, `The client's answer to ${request.method} is larger than ${MAX_ANSWER_BYTES} bytes; Gatehouse did not relay it`);
  }
  const schema =
    request.method === 'elicitation/create'
      ? ElicitResultSchema
      : request.params.tools || request.params.toolChoice
        ? CreateMessageResultWithToolsSchema
        : CreateMessageResultSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new McpError(RpcErrorCode.InvalidRequest, `The client's answer to ${request.method} is not a valid result; Gatehouse did not relay it`);
  return parsed.data as RelayedResult;
}

// What goes back to the downstream when the relay failed: our words, or the client's own JSON-RPC error.
function relayFailure(request: RelayedRequest, error: unknown, signal: AbortSignal): McpError {
  if (signal.aborted) return new McpError(RpcErrorCode.RequestTimeout, `The ${request.method} request was withdrawn: ${reasonOf(signal.reason)}`);
  if (error instanceof McpError) return error;
  return new McpError(RpcErrorCode.InternalError, `Gatehouse could not relay ${request.method} to the client: ${reasonOf(error)}`);
}

function reasonOf(reason: unknown): string {
  return (reason instanceof Error ? reason.message : String(reason)).slice(0, 200);
}

// The request as recorded: its shape, never its payload (a form's text or a conversation).
function describe(request: RelayedRequest): Record<string, unknown> {
  if (request.method === 'elicitation/create') {
    const { params } = request;
    if (params.mode === 'url') return { mode: 'url', elicitationId: params.elicitationId.slice(0, 200), urlOrigin: originOf(params.url) };
    return { mode: 'form', fields: Object.keys(params.requestedSchema.properties).slice(0, 50) };
  }
  return { messages: request.params.messages.length, maxTokens: request.params.maxTokens, tools: request.params.tools?.length ?? 0 };
}

function answerFields(result: RelayedResult, redact: (content: Record<string, unknown>) => unknown): Record<string, unknown> {
  if ('action' in result) return { action: result.action, ...(result.content ? { answer: redact(result.content) } : {}) };
  return { model: result.model.slice(0, 200), stopReason: result.stopReason ?? null, answer: redact({ role: result.role, content: result.content }) };
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
