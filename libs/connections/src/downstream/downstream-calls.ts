import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResult, ClientRequest, JSONRPCMessage, McpError, Progress } from '@modelcontextprotocol/sdk/types.js';
import type { AnySchema, SchemaOutput } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import { z } from 'zod';
import { GatehouseError } from '@gatehouse/config';
import { CallClock } from './call-clock';
import { describeError, downstreamDeadline, downstreamTimeout, downstreamUnavailable } from './downstream.errors';
import { HttpExchange } from './http-exchange';
import { CallPeer, RoutedCall, ServerRequestRouter } from './server-request-router';

export interface CallOptions {
  signal?: AbortSignal;
  onprogress?: (progress: Progress) => void;
  /** The client that made the call: the downstream's elicitation, sampling and log messages go to it. */
  peer?: CallPeer;
}

/** What a request over the session needs of its connection's settings. */
export interface CallLimits {
  name: string;
  /** Idle: progress notifications re-arm it. */
  callTimeoutMs: number;
  /** The whole call, which progress cannot extend. */
  callDeadlineMs: number;
}

// Results are passed through unparsed; the dispatcher checks them against CallToolResultSchema once.
const PASS_THROUGH_RESULT = z.looseObject({}) as unknown as z.ZodType<CallToolResult>;
const SDK_TIMEOUT_MARGIN_MS = 1_000;

/**
 * How one request runs over a live session with a downstream (DownstreamClient owns the session): the call's clock
 * (idle timeout and deadline), cancellation sent downstream when the gateway stops it, and the downstream's own
 * requests meanwhile routed to the call's client. tools/call on streamable HTTP goes through HttpExchange; every
 * other request, and tools/call on stdio and legacy SSE, through the SDK client.
 */
export class DownstreamCalls {
  private callSequence = 0;

  constructor(
    private readonly limits: CallLimits,
    private readonly router: ServerRequestRouter,
    private readonly exchange: HttpExchange | null,
  ) {}

  callTool(client: Client, name: string, args: Record<string, unknown>, options: CallOptions): Promise<CallToolResult> {
    return this.exchange ? this.callOverHttp(this.exchange, client, name, args, options) : this.callOverSdk(client, name, args, options);
  }

  /** Any other request: not routed (it would make a call on stdio ambiguous). */
  request<T extends AnySchema>(client: Client, request: ClientRequest, resultSchema: T, options: CallOptions): Promise<SchemaOutput<T>> {
    return this.requestOverSdk(client, request, resultSchema, options, false);
  }

  // request() rather than callTool(): a gateway passes results through (no output-schema checks). A call is routed:
  // what its downstream asks its client meanwhile goes to the call's own client (ServerRequestRouter).
  private callOverSdk(client: Client, name: string, args: Record<string, unknown>, options: CallOptions): Promise<CallToolResult> {
    return this.requestOverSdk(client, { method: 'tools/call', params: { name, arguments: args } }, PASS_THROUGH_RESULT, options, true);
  }

  // The clock, not the SDK, keeps the idle timeout: a relayed request holds it (the SDK's can only be re-armed by
  // progress). Other requests (prompts, reads, completions) are not routed: they would make a call on stdio ambiguous.
  private async requestOverSdk<T extends AnySchema>(client: Client, request: ClientRequest, resultSchema: T, options: CallOptions, routed: boolean): Promise<SchemaOutput<T>> {
    const clock = new CallClock(this.limits.callTimeoutMs, this.limits.callDeadlineMs, options.signal);
    const { onprogress } = options;
    const end = routed ? this.router.begin(routedCall(clock, options)) : () => undefined;
    try {
      return await client.request(request, resultSchema, {
        // The clock stops the request first; the SDK's own timeout only backs it up.
        timeout: this.limits.callDeadlineMs + SDK_TIMEOUT_MARGIN_MS,
        signal: clock.signal,
        ...(onprogress ? { onprogress: (progress: Progress) => (clock.progress(), onprogress(progress)) } : {}),
      });
    } catch (error) {
      // Expiring the clock aborts the signal, on which the SDK cancels the request downstream.
      throw this.stoppedBy(clock, error) ?? error;
    } finally {
      end();
      clock.dispose();
    }
  }

  // The same contract as the SDK's request(): an idle timeout that restarts on progress, a deadline that does
  // not, cancellation sent to the downstream when the gateway stops the call, JSON-RPC errors as McpError,
  // messages that are not the reply to the SDK.
  private async callOverHttp(
    exchange: HttpExchange,
    client: Client,
    name: string,
    args: Record<string, unknown>,
    options: CallOptions,
  ): Promise<CallToolResult> {
    const transport = client.transport as StreamableHTTPClientTransport;
    const id = `gatehouse-${++this.callSequence}`;
    const clock = new CallClock(this.limits.callTimeoutMs, this.limits.callDeadlineMs, options.signal);
    const call = routedCall(clock, options);
    const end = this.router.begin(call);
    const onmessage = (message: JSONRPCMessage) => {
      if ('method' in message && message.method === 'notifications/progress' && message.params?.['progressToken'] === id) {
        clock.progress();
        const { progressToken: _token, ...progress } = message.params as Progress & { progressToken: string };
        options.onprogress?.(progress);
        return;
      }
      // Requests on this stream are this call's (the SDK client's handlers answer them through the router).
      if (this.router.attach(message, call)) return;
      transport.onmessage?.(message);
    };
    try {
      const params = { name, arguments: args, ...(options.onprogress ? { _meta: { progressToken: id } } : {}) };
      const reply = await exchange.send(
        { sessionId: transport.sessionId, protocolVersion: transport.protocolVersion },
        { jsonrpc: '2.0', id, method: 'tools/call', params },
        onmessage,
        clock.signal,
      );
      if ('error' in reply) throw new McpError(reply.error.code, reply.error.message, reply.error.data);
      return reply.result as CallToolResult;
    } catch (error) {
      const stopped = this.stoppedBy(clock, error);
      if (stopped || clock.signal.aborted) {
        const reason = stopped?.message ?? 'cancelled by the client';
        void client.notification({ method: 'notifications/cancelled', params: { requestId: id, reason } }).catch(() => undefined);
        throw stopped ?? options.signal?.reason ?? error;
      }
      if (error instanceof McpError || error instanceof StreamableHTTPError) throw error;
      throw downstreamUnavailable(this.limits.name, describeError(error));
    } finally {
      end();
      clock.dispose();
    }
  }

  /** The gateway's own reason for stopping an HTTP call (a time limit or a byte cap), if it stopped it. */
  private stoppedBy(clock: CallClock, error: unknown): GatehouseError | null {
    if (clock.expired === 'idle') return downstreamTimeout(this.limits.name, this.limits.callTimeoutMs);
    if (clock.expired === 'deadline') return downstreamDeadline(this.limits.name, this.limits.callDeadlineMs);
    return error instanceof GatehouseError ? error : null;
  }
}

function routedCall(clock: CallClock, options: CallOptions): RoutedCall {
  return { peer: options.peer ?? null, signal: clock.signal, hold: () => clock.hold() };
}
