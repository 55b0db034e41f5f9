import { Logger } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResult,
  ClientCapabilities,
  ClientRequest,
  ErrorCode as RpcErrorCode,
  Implementation,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListToolsResultSchema,
  McpError,
  Prompt,
  PromptListChangedNotificationSchema,
  Resource,
  ResourceListChangedNotificationSchema,
  ResourceTemplate,
  ResourceUpdatedNotificationSchema,
  ServerCapabilities,
  Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { AnySchema, SchemaOutput } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import pLimit, { Limit } from 'p-limit';
import { GATEHOUSE_VERSION, GatehouseError } from '@gatehouse/config';
import type { EgressPolicy } from '@gatehouse/egress';
import { MAX_TOOLS_PER_CONNECTION } from '../catalog/catalog-limits';
import { BoundedStdioClientTransport } from './bounded-stdio-transport';
import { ServerRequestRouter } from './server-request-router';
import { CallLimits, CallOptions, DownstreamCalls } from './downstream-calls';
import { ByteCap, describeError, downstreamTimeout, downstreamTooLarge, downstreamUnavailable, overCap } from './downstream.errors';
import { DownstreamHttp } from './downstream-http';
import { HttpExchange } from './http-exchange';
import { deliverInArrivalOrder } from './ordered-delivery';
import { createTransport, DownstreamTarget } from './transport-factory';

export type { CallOptions } from './downstream-calls';

export type DownstreamState = 'connecting' | 'connected' | 'down' | 'closed';

export interface DownstreamOptions extends DownstreamTarget, CallLimits {
  connectTimeoutMs: number;
  maxSseEventBytes: number;
  maxConcurrency: number;
  /** Where http and sse connections may connect: the deployment's egress policy. */
  egress: EgressPolicy;
}

export interface DownstreamEvents {
  onStateChange?: (state: DownstreamState, error: string | null) => void;
  onToolsChanged?: () => void;
  onPromptsChanged?: () => void;
  onResourcesChanged?: () => void;
  /** notifications/resources/updated for a URI the gateway subscribed to (the downstream's URI). */
  onResourceUpdated?: (uri: string) => void;
}

/** A list read page by page: `complete` is false when the reader stopped early (enough items, or the page limit). */
export interface ListedPages<T> {
  items: T[];
  complete: boolean;
}

// What Gatehouse tells downstreams it can do as their client: it relays these to the client that made the call
// (ServerRequestRouter), and refuses them when that client did not declare them.
const CLIENT_CAPABILITIES: ClientCapabilities = { elicitation: { form: {}, url: {} }, sampling: {} };

const CLIENT_INFO: Implementation = { name: 'gatehouse', version: GATEHOUSE_VERSION };
const MAX_LIST_PAGES = 100;
const BACKOFF_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];

// One live MCP session with one downstream server, shared by every upstream client of its organization.
// It (re)connects in the background with backoff, re-initializes when an HTTP session expires, and for
// stdio supervises exactly one child process, which close() always reaps. What the downstream sends is
// capped as it arrives (DownstreamOptions); a session whose stream passed a cap is dropped and reconnected.
export class DownstreamClient {
  private readonly logger: Logger;
  private readonly limit: Limit;
  // http and sse: every request to the downstream goes through it.
  private readonly http: DownstreamHttp | null;
  // How one request runs over the live session (time limits, cancellation, routing of the downstream's requests).
  private readonly calls: DownstreamCalls;
  // Sessions dropped because their stream passed a cap: the error their pending calls get instead of
  // "connection closed", and the reason the connection is down meanwhile.
  private readonly droppedOverCap = new WeakMap<Client, { error: GatehouseError; reason: string }>();
  private readonly router: ServerRequestRouter;
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  // The client still in initialize: close() must be able to abort it rather than wait out connectTimeoutMs.
  private opening: Client | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private _state: DownstreamState = 'connecting';
  private _lastError: string | null = null;
  private _connectedAt: Date | null = null;
  private _restarts = 0;
  private _pid: number | null = null;
  private _serverInfo: Implementation | null = null;
  private _protocolVersion: string | null = null;

  constructor(
    private readonly options: DownstreamOptions,
    private readonly events: DownstreamEvents = {},
  ) {
    this.logger = new Logger(`Downstream:${options.name}`);
    this.limit = pLimit(options.maxConcurrency);
    const url = options.transport === 'stdio' ? null : new URL(options.url!);
    this.http = url ? new DownstreamHttp(url, options.name, options, options.egress) : null;
    // Streamable HTTP only: tools/call goes through this lean exchange on the SDK transport's session.
    const exchange =
      url && options.transport === 'http'
        ? new HttpExchange(this.http!, { connection: options.name, url, headers: options.headers, caps: options })
        : null;
    this.router = new ServerRequestRouter(exchange !== null);
    this.calls = new DownstreamCalls(options, this.router, exchange);
  }

  get state(): DownstreamState {
    return this._state;
  }

  get snapshot() {
    return {
      state: this._state,
      lastError: this._lastError,
      connectedAt: this._connectedAt,
      restarts: this._restarts,
      pid: this._pid,
      serverInfo: this._serverInfo,
      // The version initialize settled on with the live session; none while there is no session.
      protocolVersion: this._state === 'connected' ? this._protocolVersion : null,
      inFlight: this.limit.activeCount,
      queued: this.limit.pendingCount,
    };
  }

  start(): void {
    void this.connect().catch(() => undefined);
  }

  /** Connects (or joins the connection under way); rejects with a GatehouseError. */
  connect(): Promise<Client> {
    if (this.closed) return Promise.reject(downstreamUnavailable(this.options.name, 'connection closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  async listTools(): Promise<Tool[]> {
    // Past the limit the rest is left out of the catalog anyway: one tool more says that there were more.
    const { items, complete } = await this.listPages('tools/list', ListToolsResultSchema, (page) => page.tools, (count) => count > MAX_TOOLS_PER_CONNECTION);
    if (!complete && items.length <= MAX_TOOLS_PER_CONNECTION) {
      throw downstreamUnavailable(this.options.name, `tools/list returned more than ${MAX_LIST_PAGES} pages`);
    }
    return items;
  }

  /** The capabilities the live session's server declared; null while there is no session. */
  get capabilities(): ServerCapabilities | null {
    return this.client?.getServerCapabilities() ?? null;
  }

  listPrompts(enough: (count: number) => boolean): Promise<ListedPages<Prompt>> {
    return this.listPages('prompts/list', ListPromptsResultSchema, (page) => page.prompts, enough);
  }

  listResources(enough: (count: number) => boolean): Promise<ListedPages<Resource>> {
    return this.listPages('resources/list', ListResourcesResultSchema, (page) => page.resources, enough);
  }

  listResourceTemplates(enough: (count: number) => boolean): Promise<ListedPages<ResourceTemplate>> {
    return this.listPages('resources/templates/list', ListResourceTemplatesResultSchema, (page) => page.resourceTemplates, enough);
  }

  /**
   * Any other request (prompts/get, resources/read, subscriptions, completion/complete) with the safeguards of a call:
   * the concurrency limit, the idle timeout and deadline, the byte caps of the transport, the egress policy.
   */
  request<T extends AnySchema>(request: ClientRequest, resultSchema: T, options: CallOptions = {}): Promise<SchemaOutput<T>> {
    return this.limit(async () => {
      options.signal?.throwIfAborted();
      const client = await this.connectForCall();
      try {
        return await this.withSessionRetry(client, (c) => this.calls.request(c, request, resultSchema, options));
      } catch (error) {
        throw this.translate(error, client);
      }
    });
  }

  // Reads page after page until the downstream has no more, `enough` holds, or MAX_LIST_PAGES (a list that never ends).
  private async listPages<T extends AnySchema, I>(
    method: 'tools/list' | 'prompts/list' | 'resources/list' | 'resources/templates/list',
    schema: T,
    itemsOf: (page: SchemaOutput<T>) => I[],
    enough: (count: number) => boolean,
  ): Promise<ListedPages<I>> {
    const client = await this.connect();
    const items: I[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const result = await this.withSessionRetry(client, (c) =>
        c.request({ method, params: cursor ? { cursor } : {} }, schema, { timeout: this.options.connectTimeoutMs }),
      );
      items.push(...itemsOf(result));
      cursor = (result as { nextCursor?: string }).nextCursor;
      if (!cursor) return { items, complete: true };
      if (enough(items.length)) return { items, complete: false };
    }
    return { items, complete: false };
  }

  callTool(name: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<CallToolResult> {
    return this.limit(async () => {
      options.signal?.throwIfAborted();
      const client = await this.connectForCall();
      try {
        return await this.withSessionRetry(client, (c) => this.calls.callTool(c, name, args, options));
      } catch (error) {
        throw this.translate(error, client);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.http?.close();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const pending = this.connecting;
    const client = this.client;
    this.client = null;
    this.setState('closed', null);
    await Promise.all([client?.close(), this.opening?.close()].map((closing) => closing?.catch(() => undefined)));
    // The aborted connect settles at once and reaps its transport (and child process) on its error path.
    await pending?.catch(() => undefined);
  }

  // A call never waits out a backoff or bypasses it (a crash-looping stdio server must not be respawned
  // by every call): down fails fast with the reason; connecting waits, bounded by the connect timeout.
  private connectForCall(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this._state === 'down' && !this.connecting) {
      return Promise.reject(downstreamUnavailable(this.options.name, this._lastError ?? 'not connected'));
    }
    return this.connect();
  }

  private async open(): Promise<Client> {
    this.setState('connecting', this._lastError);
    const client = new Client(CLIENT_INFO, { capabilities: CLIENT_CAPABILITIES });
    const transport = createTransport(this.options, {
      fetch: this.http?.fetch((cap) => this.dropOverCap(client, cap)) ?? null,
      onStdoutOverflow: () => this.dropOverCap(client, 'maxReplyBytes'),
      onStderrLine: (line, cut) =>
        this.logger.log({ stream: 'stderr', ...(cut ? { cutAtBytes: this.options.maxStderrLineBytes } : {}) }, line),
    });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.events.onToolsChanged?.());
    this.router.install(client);
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => this.events.onPromptsChanged?.());
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => this.events.onResourcesChanged?.());
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => this.events.onResourceUpdated?.(notification.params.uri));
    let protocolVersion: string | null = null;
    recordProtocolVersion(transport, (version) => (protocolVersion = version));
    this.opening = client;
    try {
      await client.connect(transport, { timeout: this.options.connectTimeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      const reason =
        this.droppedOverCap.get(client)?.reason ??
        (error instanceof McpError && error.code === RpcErrorCode.RequestTimeout
          ? `no answer to initialize within ${this.options.connectTimeoutMs} ms`
          : describeError(error));
      this.onFailure(reason);
      throw downstreamUnavailable(this.options.name, reason);
    } finally {
      this.opening = null;
    }
    if (this.closed) {
      await client.close().catch(() => undefined);
      throw downstreamUnavailable(this.options.name, 'connection closed');
    }
    deliverInArrivalOrder(transport);
    client.onclose = () => this.onTransportClosed(client);
    this.client = client;
    this.failures = 0;
    this._connectedAt = new Date();
    this._serverInfo = client.getServerVersion() ?? null;
    this._protocolVersion = protocolVersion;
    this._pid = transport instanceof BoundedStdioClientTransport ? transport.pid : null;
    this.setState('connected', null);
    return client;
  }

  private onTransportClosed(client: Client): void {
    if (this.client !== client || this.closed) return;
    this.logger.warn(`Downstream session closed${this._pid ? ` (process ${this._pid} exited)` : ''}; reconnecting`);
    this.lose('downstream closed the connection');
  }

  // A stream that passed a cap is mid-message and cannot be read on: the session (for stdio, the child) is
  // closed, its pending calls fail with the reason, and the supervisor reconnects as after a crash. New calls
  // are not sent to it while it closes.
  private dropOverCap(client: Client, cap: ByteCap): void {
    if (this.droppedOverCap.has(client)) return;
    const limit = this.options[cap];
    const reason = `it ${overCap(cap, limit)}`;
    this.droppedOverCap.set(client, { error: downstreamTooLarge(this.options.name, cap, limit), reason });
    this.logger.warn(`The downstream ${overCap(cap, limit)}; restarting the session`);
    if (this.client === client && !this.closed) this.lose(`${reason}; reconnecting`);
    void client.close().catch(() => undefined);
  }

  private lose(reason: string): void {
    this.client = null;
    this._restarts++;
    this.onFailure(reason);
  }

  private onFailure(reason: string): void {
    if (this.closed) return;
    this.setState('down', reason);
    this.scheduleRetry(BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)]!);
    this.failures++;
  }

  private scheduleRetry(delayMs: number): void {
    if (this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.start();
    }, delayMs);
    this.retryTimer.unref();
  }

  // Streamable HTTP servers forget sessions (restart, idle expiry) and answer 404: start a new session
  // and retry once, rather than leaving a half-dead session behind.
  private async withSessionRetry<T>(client: Client, run: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await run(client);
    } catch (error) {
      if (!(error instanceof StreamableHTTPError && error.code === 404)) throw error;
      this.logger.log('Downstream session expired (HTTP 404); re-initializing');
      if (this.client === client) {
        this.client = null;
        await client.close().catch(() => undefined);
      }
      return run(await this.connect());
    }
  }

  private translate(error: unknown, client: Client): unknown {
    if (error instanceof GatehouseError) return error;
    if (error instanceof McpError) {
      if (error.code === RpcErrorCode.RequestTimeout) return downstreamTimeout(this.options.name, this.options.callTimeoutMs);
      if (error.code === RpcErrorCode.ConnectionClosed) {
        return this.droppedOverCap.get(client)?.error ?? downstreamUnavailable(this.options.name, 'the downstream server closed the connection during the call');
      }
    }
    return error;
  }

  private setState(state: DownstreamState, error: string | null): void {
    const changed = state !== this._state || error !== this._lastError;
    this._state = state;
    this._lastError = error;
    if (changed) this.events.onStateChange?.(state, error);
  }

}

// The SDK's Client keeps the negotiated protocol version to itself: after a successful initialize it hands it
// only to transport.setProtocolVersion (the HTTP transports send it as a header from then on). Chaining that hook
// records it for every transport, stdio included, and leaves the transport's own behaviour as it was.
function recordProtocolVersion(transport: Transport, record: (version: string) => void): void {
  const own = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (version: string) => {
    record(version);
    own?.(version);
  };
}

