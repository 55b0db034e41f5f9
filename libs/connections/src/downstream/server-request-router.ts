import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequest,
  CreateMessageRequestSchema,
  CreateMessageResult,
  ElicitRequest,
  ElicitRequestSchema,
  ElicitResult,
  ErrorCode as RpcErrorCode,
  JSONRPCMessage,
  LoggingMessageNotification,
  LoggingMessageNotificationSchema,
  McpError,
  RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** A request a downstream sends its client during a call, which Gatehouse relays to the client that made the call. */
export type RelayedRequest = ElicitRequest | CreateMessageRequest;
export type RelayedResult = ElicitResult | CreateMessageResult;
export type DownstreamLog = LoggingMessageNotification['params'];

/** The client that made a call, as its downstream reaches it: supplied by the caller of callTool. */
export interface CallPeer {
  /** Relays the request; rejects with an McpError (our words) that goes back to the downstream. */
  relay(request: RelayedRequest, signal: AbortSignal): Promise<RelayedResult>;
  /** A log message the downstream sent during the call. */
  log(params: DownstreamLog): void;
}

/** A call as the router sees it while it runs. */
export interface RoutedCall {
  /** Null: nobody can be asked (an approved call, a workflow step). */
  peer: CallPeer | null;
  /** The call's own limits (deadline, cancellation): a relay never outlives them. */
  signal: AbortSignal;
  /** Stops the call's idle timeout while the downstream waits on a relayed request. */
  hold(): () => void;
}

const RELAYED_METHODS: ReadonlySet<string> = new Set(['elicitation/create', 'sampling/createMessage']);

/**
 * Attributes what a downstream sends its client (elicitation, sampling, log messages) to the call it belongs to.
 * One downstream session serves every upstream session, so the call is all there is to go by:
 * - streamable HTTP (`exact`): a message on a call's own POST response stream belongs to that call (HttpExchange
 *   hands it to attach()); anything else (the GET stream, a list's stream) belongs to no call;
 * - stdio and legacy SSE have one stream for everything: a message belongs to the one call in flight, and with
 *   none or several it cannot be attributed. Requests are then refused and log messages dropped (fail closed).
 */
export class ServerRequestRouter {
  private readonly calls = new Set<RoutedCall>();
  // Streamable HTTP: the downstream's request ids seen on a call's stream. Null: the same id on two calls.
  private readonly streamed = new Map<RequestId, RoutedCall | null>();

  constructor(private readonly exact: boolean) {}

  /** Registers a running call; the returned function ends it. */
  begin(call: RoutedCall): () => void {
    this.calls.add(call);
    return () => {
      this.calls.delete(call);
      // Requests of the call that never reached route() (the SDK refused them as malformed) leave nothing behind.
      for (const [id, owner] of this.streamed) if (owner === call) this.streamed.delete(id);
    };
  }

  /** A message that arrived on the call's own response stream: true when it was the call's log message (consumed). */
  attach(message: JSONRPCMessage, call: RoutedCall): boolean {
    if (!('method' in message)) return false;
    if ('id' in message) {
      if (RELAYED_METHODS.has(message.method)) this.streamed.set(message.id, this.streamed.has(message.id) ? null : call);
      return false;
    }
    if (message.method !== 'notifications/message') return false;
    const parsed = LoggingMessageNotificationSchema.safeParse(message);
    if (parsed.success) call.peer?.log(parsed.data.params);
    return true;
  }

  /** Serves the client's side of elicitation, sampling and logging for every call on this client. */
  install(client: Client): void {
    client.setRequestHandler(ElicitRequestSchema, (request, extra) => this.route(request, extra.requestId, extra.signal) as Promise<ElicitResult>);
    client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => this.route(request, extra.requestId, extra.signal) as Promise<CreateMessageResult>);
    // Only stdio and SSE deliver a call's log messages here; on streamable HTTP this is the GET stream, no call's.
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      if (!this.exact) this.onlyCall()?.peer?.log(notification.params);
    });
  }

  private async route(request: RelayedRequest, id: RequestId, downstreamSignal: AbortSignal): Promise<RelayedResult> {
    const call = this.exact ? this.streamed.get(id) : this.onlyCall();
    this.streamed.delete(id);
    if (!call) throw unattributable(request.method, this.exact ? 'it did not come on the stream of a tools/call' : this.calls.size === 0 ? 'no call is in flight on this connection' : 'several calls are in flight on this connection');
    if (!call.peer) throw new McpError(RpcErrorCode.InvalidRequest, `Gatehouse has no client to relay ${request.method} to: this call runs without an interactive session (an approved call or a workflow step)`);
    const release = call.hold();
    try {
      return await call.peer.relay(request, AbortSignal.any([downstreamSignal, call.signal]));
    } finally {
      release();
    }
  }

  private onlyCall(): RoutedCall | null {
    if (this.calls.size !== 1) return null;
    return this.calls.values().next().value ?? null;
  }
}

function unattributable(method: string, why: string): McpError {
  return new McpError(RpcErrorCode.InvalidRequest, `Gatehouse cannot tell which call this ${method} request belongs to (${why}); it was not relayed`);
}
