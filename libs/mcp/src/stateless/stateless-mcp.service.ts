import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { ErrorCode as RpcErrorCode, JSONRPCNotification, Progress, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { GATEHOUSE_VERSION } from '@gatehouse/config';
import { EndpointView } from '@gatehouse/governance';
import { OAuthSettings, Principal } from '@gatehouse/identity';
import { McpAdmission } from '../limits/mcp-admission';
import { RESOURCE_NOT_FOUND } from '../session/content-errors';
import { writeInsufficientScope } from '../session/insufficient-scope';
import { writeJsonRpcError } from '../session/json-rpc-response';
import { McpServerFactory, ServedSession, serverInstructions } from '../session/mcp-server.factory';
import { ReplyWriter } from '../session/tool-call-exchange';
import { CallTracker } from '../tools/call-tracker';
import { ProtocolError } from '../tools/protocol-error';
import { CallContext, ToolCallDispatcher, traceIdOf } from '../tools/tool-call.dispatcher';
import { InputRequiredResult, InputRounds } from './input-rounds';
import { OneShotTransport } from './one-shot-transport';
import { META, readStatelessRequest, StatelessRefusal, StatelessRequest, STATELESS_PROTOCOL_VERSIONS } from './stateless-envelope';

// The methods of 2026-07-28 the SDK Server's handlers (McpServerFactory, ContentHandlers) answer as they do for sessions.
const SERVED_BY_HANDLERS: ReadonlySet<string> = new Set([
  'tools/list',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
]);
// Results a client may cache (SEP-2549). What a principal sees follows the policy, which may change at any moment:
// private to the caller, and not to be reused.
const CACHEABLE: ReadonlySet<string> = new Set(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);
// 2025-11-25 methods the stateless revision removed: said so, rather than only "not found".
const REMOVED: ReadonlySet<string> = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

/** One stateless request's HTTP exchange: who sent it, through which door, and where its answer goes. */
interface Exchange {
  request: Request;
  response: Response;
  principal: Principal;
  door: EndpointView;
  reply: ReplyWriter;
  /** Aborted when the client hangs up. */
  signal: AbortSignal;
}

/**
 * MCP 2026-07-28 (SEP-2575) at /mcp and /mcp/<endpoint>: each POST is one request that carries its protocol version
 * and client capabilities, answered with no session. The principal and the door are the controller's, as for a
 * session; tools/call goes through the same ToolCallDispatcher (policy, approvals, budgets, audit) and admission,
 * every other method through the same SDK handlers a session's Server has, on a Server made for the one request.
 */
@Injectable()
export class StatelessMcp {
  private readonly logger = new Logger(StatelessMcp.name);

  constructor(
    private readonly factory: McpServerFactory,
    private readonly dispatcher: ToolCallDispatcher,
    private readonly admission: McpAdmission,
    private readonly tracker: CallTracker,
    private readonly rounds: InputRounds,
    private readonly oauth: OAuthSettings,
  ) {}

  async handle(request: Request, response: Response, principal: Principal, door: EndpointView): Promise<void> {
    if (request.method !== 'POST') {
      response.set('Allow', 'POST');
      return writeJsonRpcError(response, 405, RpcErrorCode.InvalidRequest, 'MCP 2026-07-28 has no sessions: POST each request (no GET stream, no DELETE)');
    }
    response.once('close', this.tracker.begin());
    const reply = new ReplyWriter(response, null);
    const id = requestIdOf(request.body);
    // The client hanging up cancels the request: its downstream call too.
    const controller = new AbortController();
    const onClose = () => controller.abort('the client closed the connection');
    response.once('close', onClose);
    try {
      const message = readStatelessRequest(request);
      const result = await this.serve(message, { request, response, principal, door, reply, signal: controller.signal });
      if (result !== null) reply.end({ jsonrpc: '2.0', id: message.id, result: withResultHints(message.method, result) });
    } catch (error) {
      const { status, error: rpcError } = this.toRpcError(error, request);
      reply.end({ jsonrpc: '2.0', id, error: rpcError }, status);
    } finally {
      response.off('close', onClose);
    }
  }

  /** The result, or null when a refusal has been written (a limit, a token without write scope). */
  private async serve(message: StatelessRequest, exchange: Exchange): Promise<object | null> {
    if (message.method === 'server/discover') return this.discover(exchange.door);
    if (message.method === 'tools/call') return this.callTool(message, exchange);
    if (SERVED_BY_HANDLERS.has(message.method)) return this.viaHandlers(message, exchange);
    const removed = REMOVED.has(message.method) ? ': MCP 2026-07-28 removed it' : '';
    throw new StatelessRefusal(404, RpcErrorCode.MethodNotFound, `Method not found: ${JSON.stringify(message.method.slice(0, 100))}${removed}`);
  }

  private discover(door: EndpointView): Record<string, unknown> {
    return {
      supportedVersions: [...STATELESS_PROTOCOL_VERSIONS],
      capabilities: { tools: {}, prompts: {}, resources: {}, completions: {}, logging: {} },
      instructions: serverInstructions(door),
      _meta: { [META.serverInfo]: { name: 'gatehouse', title: 'Gatehouse', version: GATEHOUSE_VERSION } },
    };
  }

  private async callTool(message: StatelessRequest, { request, response, principal, door, reply, signal }: Exchange): Promise<object | null> {
    const { name, arguments: args = {}, _meta: meta, requestState, inputResponses } = message.params;
    if (typeof name !== 'string' || !isObject(args)) throw new ProtocolError(RpcErrorCode.InvalidParams, 'Invalid params: tools/call takes {"name": string, "arguments"?: object, "_meta": object}');
    const owner = { organizationId: principal.organizationId, subject: principal.subject, door: door.name, tool: name };
    // A retry answering the call's input requests continues the call already running (admitted when it started).
    if (requestState !== undefined) return this.rounds.next(this.rounds.resume(owner, requestState, inputResponses), reply, signal);
    const progressToken = isObject(meta) ? meta['progressToken'] : undefined;
    if (progressToken !== undefined && typeof progressToken !== 'string' && !Number.isInteger(progressToken)) {
      throw new ProtocolError(RpcErrorCode.InvalidParams, 'Invalid params: _meta.progressToken must be a string or an integer');
    }
    if (await this.dispatcher.needsWriteScope(principal, name, door)) {
      writeInsufficientScope(response, this.oauth, message.id, name, door);
      return null;
    }
    const traceId = traceIdOf(request.headers['traceparent']);
    if (!(await this.admission.calls(principal, [{ id: message.id, name, args }], { answers: message.id, ...(traceId ? { traceId } : {}) }, response))) return null;
    const held = this.rounds.start(owner, { capabilities: message.capabilities, logLevel: message.logLevel }, (client, call) => {
      const context: CallContext = {
        signal: call.controller.signal,
        endpoint: door,
        client,
        ...(traceId ? { traceId } : {}),
        ...(progressToken === undefined
          ? {}
          : {
              // To the request waiting on the call now: the first, or a retry.
              sendProgress: (progress: Progress) =>
                Promise.resolve(call.stream?.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken: progressToken as string | number } })),
            }),
      };
      return this.dispatcher.call(principal, name, args, context);
    });
    return this.rounds.next(held, reply, signal);
  }

  private async viaHandlers(message: StatelessRequest, { request, principal, door, reply, signal }: Exchange): Promise<Record<string, unknown>> {
    // No session: the request carries its client's capabilities and log level (logging/setLevel is no method of 2026-07-28).
    const served: ServedSession = {
      id: '',
      client: { capabilities: message.capabilities, logLevel: message.logLevel },
      setLogLevel: () => Promise.reject(new ProtocolError(RpcErrorCode.MethodNotFound, 'logging/setLevel is not a method of MCP 2026-07-28: name the level in _meta')),
    };
    const server = this.factory.create(served, door);
    const transport = new OneShotTransport((notification: JSONRPCNotification) => {
      if (notification.method !== 'notifications/message' || message.logLevel !== null) reply.send(notification);
    });
    await server.connect(transport);
    // As McpSessions passes them: the SDK's handlers read the principal and the door from authInfo.
    const authInfo: AuthInfo = { token: principal.subject, clientId: principal.subject, scopes: [], extra: { principal, endpoint: door } };
    try {
      const answer = await transport.exchange({ jsonrpc: '2.0', id: message.id, method: message.method, params: message.params }, { authInfo, requestInfo: { headers: request.headers } }, signal);
      if ('error' in answer) throw stateless(message, answer.error);
      return answer.result;
    } finally {
      await server.close();
    }
  }

  private toRpcError(error: unknown, request: Request): { status: number; error: { code: number; message: string; data?: unknown } } {
    const status = error instanceof StatelessRefusal ? error.status : 200;
    if (error instanceof ProtocolError) return { status, error: { code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) } };
    const errorId = randomUUID();
    this.logger.error({ err: error, errorId, method: (request.body as { method?: unknown } | undefined)?.method }, 'Unexpected error in an MCP 2026-07-28 request');
    return { status: 500, error: { code: RpcErrorCode.InternalError, message: `Internal error (error id ${errorId})` } };
  }
}

// SEP-2164: a resource that does not exist is -32602 with its URI in 2026-07-28 (-32002 before); a downstream that
// already says -32602 gets the URI added.
function stateless(message: StatelessRequest, error: { code: number; message: string; data?: unknown }): ProtocolError {
  const notFound = message.method === 'resources/read' && (error.code === RESOURCE_NOT_FOUND || error.code === RpcErrorCode.InvalidParams);
  if (notFound && error.data === undefined) return new ProtocolError(RpcErrorCode.InvalidParams, error.message, { uri: message.params['uri'] });
  return new ProtocolError(error.code, error.message, error.data);
}

function withResultHints(method: string, result: object): Record<string, unknown> {
  if (result instanceof InputRequiredResult) return { ...result };
  return { ...result, resultType: 'complete', ...(CACHEABLE.has(method) ? { ttlMs: 0, cacheScope: 'private' } : {}) };
}

function requestIdOf(body: unknown): RequestId | null {
  const id = isObject(body) ? body['id'] : undefined;
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
