import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import {
  CallToolResult,
  ErrorCode as RpcErrorCode,
  Progress,
  RequestId,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EndpointView } from '@gatehouse/governance';
import { OAuthSettings, Principal } from '@gatehouse/identity';
import { McpAdmission } from '../limits/mcp-admission';
import { SessionClient, streamClientChannel } from '../relay/client-channel';
import { isRelayAnswer, PendingClientRequests } from '../relay/pending-client-requests';
import { writeInsufficientScope } from './insufficient-scope';
import { ProtocolError } from '../tools/protocol-error';
import { CallContext, ToolCallDispatcher, traceIdOf } from '../tools/tool-call.dispatcher';

/** The part of an upstream session the exchange needs: its id, its client and the calls it is running. */
export interface ExchangeSession {
  id: string;
  client: SessionClient;
  /** The calls it runs on this replica. */
  calls: Map<RequestId, AbortController>;
  /** Passes a cancel for a call this replica does not run to the replicas that may run it. */
  cancelElsewhere(requestId: RequestId, reason: string): Promise<void>;
}

/** A POST with its JSON body read: an Express request, or one the MCP front door serves before Express. */
export type ExchangeRequest = IncomingMessage & { body?: unknown };

interface ToolCallMessage {
  id: RequestId;
  name: string;
  args: Record<string, unknown>;
  progressToken: string | number | undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** The messages the exchange may answer itself; everything else goes to the SDK transport. */
export function exchangeMessage(body: unknown): body is Record<string, unknown> {
  return isRelayAnswer(body) || (isObject(body) && body['jsonrpc'] === '2.0' && (body['method'] === 'tools/call' || body['method'] === 'notifications/cancelled'));
}
const isRequestId = (value: unknown): value is RequestId =>
  typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));

/** The tools/call requests of a POSTed body (one message or a batch) that would run, as the SDK's transport runs them. */
export function toolCallRequests(body: unknown): ToolCallMessage[] {
  return (Array.isArray(body) ? body : [body]).flatMap((message: unknown) => {
    if (!isObject(message) || message['method'] !== 'tools/call' || !isRequestId(message['id'])) return [];
    const call = toolCall(message['id'], message['params']);
    return typeof call === 'string' ? [] : [call];
  });
}

/** The ids of the requests (not notifications) in a batch. */
export function batchRequestIds(batch: unknown[]): RequestId[] {
  return batch.flatMap((message) => (isObject(message) && typeof message['method'] === 'string' && isRequestId(message['id']) ? [message['id']] : []));
}

/**
 * Answers a POSTed tools/call (and a notifications/cancelled for one) on an established session directly,
 * with the same pipeline as the SDK Server's handler (ToolCallDispatcher). The SDK's transport turns every
 * request into a web Request and every reply into a stream, which cost more CPU than the rest of the call;
 * tools/call is the one hot message, so it alone takes this path. Anything else (batches, bad headers, an
 * unsupported protocol version, other methods) returns false and goes to the SDK transport, which owns those
 * answers. The reply is one JSON object, or an SSE stream once the call reports progress.
 */
@Injectable()
export class ToolCallExchange {
  private readonly logger = new Logger(ToolCallExchange.name);

  constructor(
    private readonly dispatcher: ToolCallDispatcher,
    private readonly oauth: OAuthSettings,
    private readonly admission: McpAdmission,
    private readonly pending: PendingClientRequests,
  ) {}

  handle(session: ExchangeSession, request: ExchangeRequest, response: ServerResponse, principal: Principal, door: EndpointView): boolean {
    const body: unknown = request.body;
    if (request.method !== 'POST' || !exchangeMessage(body) || !acceptsBoth(request)) return false;
    if (!supportedVersion(request.headers['mcp-protocol-version'])) return false;
    if (isRelayAnswer(body)) return this.answer(session, body, response);
    if (body['method'] === 'notifications/cancelled') return this.cancel(session, body, response);
    const { id } = body;
    if (!isRequestId(id) || session.calls.has(id)) return false;
    const call = toolCall(id, body['params']);
    if (typeof call === 'string') {
      new ReplyWriter(response, session.id).end({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.InvalidParams, message: call } });
    } else {
      void this.run(session, call, request, response, principal, door);
    }
    return true;
  }

  // A client's answer to a request sent on one of this session's call streams, here or on another replica (the call
  // runs where it arrived; the answer reaches whichever replica the balancer picks). An id this session was not sent
  // is dropped, as the SDK's transport drops it.
  private answer(session: ExchangeSession, body: Parameters<PendingClientRequests['answer']>[1], response: ServerResponse): boolean {
    if (!this.pending.answer(session.id, body)) {
      this.pending.forward(session.id, body).catch((error: unknown) => this.logger.warn({ err: error }, 'Could not forward a relay answer'));
    }
    response.writeHead(202).end();
    return true;
  }

  private cancel(session: ExchangeSession, body: Record<string, unknown>, response: ServerResponse): boolean {
    const params = body['params'];
    const requestId = isObject(params) ? params['requestId'] : undefined;
    if (!isRequestId(requestId)) return false; // the SDK's transport answers a malformed one
    const reason = isObject(params) && typeof params['reason'] === 'string' ? params['reason'].slice(0, 200) : 'cancelled by the client';
    const call = session.calls.get(requestId);
    if (call) call.abort(reason);
    else session.cancelElsewhere(requestId, reason).catch((error: unknown) => this.logger.warn({ err: error }, 'Could not forward a cancel'));
    response.writeHead(202).end();
    return true;
  }

  private async run(session: ExchangeSession, call: ToolCallMessage, request: ExchangeRequest, response: ServerResponse, principal: Principal, door: EndpointView): Promise<void> {
    const controller = new AbortController();
    session.calls.set(call.id, controller);
    // A client that hangs up no longer wants the result: cancel the call downstream too.
    const onClose = () => controller.abort('the client closed the connection');
    response.once('close', onClose);
    const reply = new ReplyWriter(response, session.id);
    const traceId = traceIdOf(request.headers['traceparent']);
    const context: CallContext = {
      signal: controller.signal,
      endpoint: door,
      client: streamClientChannel(session.client, session.id, this.pending, (message) => reply.send(message)),
      ...(traceId ? { traceId } : {}),
      ...(call.progressToken === undefined
        ? {}
        : {
            sendProgress: (progress: Progress) =>
              Promise.resolve(reply.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { ...progress, progressToken: call.progressToken! } })),
          }),
    };
    try {
      if (await this.dispatcher.needsWriteScope(principal, call.name, door)) return writeInsufficientScope(response, this.oauth, call.id, call.name, door);
      if (!(await this.admission.calls(principal, [call], { sessionId: session.id, ...(traceId ? { traceId } : {}), answers: call.id }, response))) return;
      const result = await this.dispatcher.call(principal, call.name, call.args, context);
      reply.end({ jsonrpc: '2.0', id: call.id, result: result satisfies CallToolResult });
    } catch (error) {
      reply.end({ jsonrpc: '2.0', id: call.id, error: this.toRpcError(error, call.name) });
    } finally {
      session.calls.delete(call.id);
      response.off('close', onClose);
    }
  }

  private toRpcError(error: unknown, tool: string): { code: number; message: string } {
    if (error instanceof ProtocolError) return { code: error.code, message: error.message };
    const errorId = randomUUID();
    this.logger.error({ err: error, errorId, tool }, 'Unexpected error in tools/call');
    return { code: RpcErrorCode.InternalError, message: `Internal error (error id ${errorId})` };
  }
}

/**
 * One JSON reply, or an SSE stream from the first message before it (progress, a log message, a request to the client).
 * Without a session id (the stateless revision) the replies name none.
 */
export class ReplyWriter {
  private streaming = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly sessionId: string | null,
  ) {}

  send(message: object): void {
    if (!this.open) return;
    if (!this.streaming) {
      this.streaming = true;
      this.response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        ...(this.sessionId === null ? {} : { 'mcp-session-id': this.sessionId }),
      });
    }
    this.response.write(sseEvent(message));
  }

  /** The last message; `status` applies when nothing was streamed before it. */
  end(message: object, status = 200): void {
    if (!this.open) return;
    if (this.streaming) {
      this.response.end(sseEvent(message));
      return;
    }
    const body = JSON.stringify(message);
    this.response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(this.sessionId === null ? {} : { 'mcp-session-id': this.sessionId }),
    });
    this.response.end(body);
  }

  private get open(): boolean {
    return !this.response.writableEnded && !this.response.destroyed;
  }
}

function sseEvent(message: object): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

/** The call, or what is wrong with its params. */
function toolCall(id: RequestId, params: unknown): ToolCallMessage | string {
  const problem = 'Invalid params: tools/call takes {"name": string, "arguments"?: object, "_meta"?: object}';
  if (!isObject(params) || typeof params['name'] !== 'string') return problem;
  const args = params['arguments'] ?? {};
  const meta = params['_meta'];
  if (!isObject(args) || (meta !== undefined && !isObject(meta))) return problem;
  const progressToken = meta?.['progressToken'];
  if (progressToken !== undefined && !isRequestId(progressToken)) return 'Invalid params: _meta.progressToken must be a string or an integer';
  return { id, name: params['name'], args, progressToken };
}

// The same rules as the SDK transport applies; a request failing them is left to it for the error reply.
function acceptsBoth(request: ExchangeRequest): boolean {
  const accept = request.headers.accept;
  return accept !== undefined && accept.includes('application/json') && accept.includes('text/event-stream');
}

function supportedVersion(version: string | string[] | undefined): boolean {
  return version === undefined || (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version));
}
