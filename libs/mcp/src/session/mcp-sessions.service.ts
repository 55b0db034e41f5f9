import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { AuditActor, AuditRecorder } from '@gatehouse/audit';
import { AppConfig } from '@gatehouse/config';
import { ConnectionRegistry, GatewayMetrics, ListingKind } from '@gatehouse/connections';
import { ApprovalEvent, ApprovalEvents, EndpointView } from '@gatehouse/governance';
import { auditActorOf, Principal } from '@gatehouse/identity';
import { McpAdmission } from '../limits/mcp-admission';
import { logLevelReaches, sessionClient } from '../relay/client-channel';
import { CallTracker } from '../tools/call-tracker';
import { traceIdOf } from '../tools/tool-call.dispatcher';
import { writeJsonRpcError } from './json-rpc-response';
import { McpServerFactory } from './mcp-server.factory';
import { batchRequestIds, ExchangeSession, ToolCallExchange, toolCallRequests } from './tool-call-exchange';

/** Why a session ended, as its mcp.session.ended record says. */
type EndReason = 'closed' | 'deleted' | 'idle' | 'shutdown';

interface McpSession extends ExchangeSession {
  subject: string;
  organizationId: string;
  /** The endpoint it was opened at (null: /mcp); at any other door its id is unknown. */
  door: string | null;
  transport: StreamableHTTPServerTransport;
  server: Server;
  lastSeen: number;
  openedAt: number;
  /** Who opened it, with the IP and user agent of the request that did. */
  actor: AuditActor;
  endReason: EndReason | null;
}

const LIST_CHANGED_DEBOUNCE_MS = 50;

// Upstream sessions live in this process (a load balancer keeps a session on its replica); each is bound
// to the principal that opened it and the door it was opened at (/mcp or /mcp/<endpoint>): another principal, or
// another door, presenting its id gets 404, as if it did not exist.
@Injectable()
export class McpSessions implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(McpSessions.name);
  private readonly sessions = new Map<string, McpSession>();
  private readonly pendingNotices = new Map<string, NodeJS.Timeout>();
  private unsubscribe: (() => void) | null = null;
  private unsubscribeListings: (() => void) | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  // Session records are appended from the transport's callbacks, which cannot wait; shutdown waits for them.
  private readonly recording = new Set<Promise<void>>();

  constructor(
    private readonly config: AppConfig,
    private readonly factory: McpServerFactory,
    private readonly registry: ConnectionRegistry,
    private readonly metrics: GatewayMetrics,
    private readonly tracker: CallTracker,
    private readonly exchange: ToolCallExchange,
    private readonly approvalEvents: ApprovalEvents,
    private readonly recorder: AuditRecorder,
    private readonly admission: McpAdmission,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribe = this.registry.onToolsChanged((organizationId) => this.scheduleListChanged(organizationId, 'tools'));
    this.unsubscribeListings = this.registry.onListingsChanged((organizationId, kind) => this.scheduleListChanged(organizationId, kind));
    await this.approvalEvents.subscribe((event) => this.notifyApproval(event));
    const idleMs = this.config.env.GATEHOUSE_SESSION_IDLE_SECONDS * 1000;
    this.sweeper = setInterval(() => this.sweep(idleMs), Math.min(idleMs, 60_000));
    this.sweeper.unref();
  }

  async handle(request: Request, response: Response, principal: Principal, door: EndpointView): Promise<void> {
    // POSTs carry calls and their results; GET is the long-lived notification stream and never "finishes".
    if (request.method === 'POST') response.once('close', this.tracker.begin());
    // The door's view goes with the principal to the SDK's handlers (McpServerFactory), fresh on every request.
    const auth: AuthInfo = { token: principal.subject, clientId: principal.subject, scopes: [], extra: { principal, endpoint: door } };
    const incoming = Object.assign(request, { auth });
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = this.sessions.get(sessionId);
      if (!session || !opensSession(session, principal, door)) {
        return writeJsonRpcError(response, 404, -32001, 'Session not found: start a new session with initialize');
      }
      session.lastSeen = Date.now();
      if (request.method === 'DELETE') session.endReason ??= 'deleted';
      // tools/call reaches this only when McpFastPath passed it on (batches, duplicate ids); the SDK's transport
      // answers it as well, once admitted as the fast path admits its own.
      const calls = request.method === 'POST' ? toolCallRequests(request.body) : [];
      if (calls.length > 0) {
        const traceId = traceIdOf(request.headers['traceparent']);
        const answers = Array.isArray(request.body) ? batchRequestIds(request.body) : calls[0]!.id;
        if (!(await this.admission.calls(principal, calls, { sessionId, answers, ...(traceId ? { traceId } : {}) }, response))) return;
      }
      return session.transport.handleRequest(incoming, response, request.body);
    }
    if (request.method !== 'POST' || !isInitializeRequest(request.body)) {
      return writeJsonRpcError(response, 400, -32000, 'Bad Request: missing Mcp-Session-Id header (send initialize first)');
    }
    const release = this.admission.session(principal, request, response);
    if (!release) return;
    let session: McpSession | null = null;
    try {
      session = await this.open(principal, door, request, release);
      await session.transport.handleRequest(incoming, response, request.body);
    } finally {
      // An initialize the transport refused opened no session; one that opened gives its slot back when it ends.
      if (!session?.id) release();
    }
  }

  /**
   * A POSTed message on an established session that ToolCallExchange answers itself (tools/call): true when it
   * did. False leaves the request untouched for handle(), which owns every other answer.
   */
  handleExchange(request: Request, response: Response, principal: Principal, door: EndpointView): boolean {
    const sessionId = request.headers['mcp-session-id'];
    const session = typeof sessionId === 'string' ? this.sessions.get(sessionId) : undefined;
    if (!session || !opensSession(session, principal, door)) return false;
    if (!this.exchange.handle(session, request, response, principal, door)) return false;
    // In the same tick as the call starts, so a drain never misses it.
    response.once('close', this.tracker.begin());
    session.lastSeen = Date.now();
    return true;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(
      [...this.sessions.values()].map((session) => {
        session.endReason ??= 'shutdown';
        return session.transport.close();
      }),
    );
    this.sessions.clear();
    this.metrics.mcpSessions.set(0);
    await Promise.allSettled([...this.recording]);
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribeListings?.();
    if (this.sweeper) clearInterval(this.sweeper);
    this.pendingNotices.forEach((timer) => clearTimeout(timer));
    await this.closeAll();
  }

  private async open(principal: Principal, door: EndpointView, request: Request, release: () => void): Promise<McpSession> {
    const params = (request.body as { params?: { protocolVersion?: unknown; clientInfo?: { name?: unknown; version?: unknown } } }).params;
    const client = sessionClient(params);
    const server = this.factory.create(client, door);
    const session: McpSession = {
      id: '',
      client,
      subject: principal.subject,
      organizationId: principal.organizationId,
      door: door.name,
      calls: new Map(),
      server,
      lastSeen: Date.now(),
      openedAt: Date.now(),
      actor: auditActorOf(principal),
      endReason: null,
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          session.id = id;
          this.sessions.set(id, session);
          this.metrics.mcpSessions.set(this.sessions.size);
          this.record(session, 'mcp.session.started', {
            ...(session.door === null ? {} : { endpoint: session.door }),
            protocolVersion: text(params?.protocolVersion),
            client: { name: text(params?.clientInfo?.name), version: text(params?.clientInfo?.version) },
          });
        },
      }),
    };
    session.transport.onclose = () => {
      release();
      session.calls.forEach((call) => call.abort('the session ended'));
      if (session.id && this.sessions.delete(session.id)) {
        this.metrics.mcpSessions.set(this.sessions.size);
        this.record(session, 'mcp.session.ended', { reason: session.endReason ?? 'closed', durationMs: Date.now() - session.openedAt });
      }
    };
    await server.connect(session.transport);
    return session;
  }

  // Requesters hear about their approval requests in their open sessions, on whichever replica they are.
  private notifyApproval(event: ApprovalEvent): void {
    // The requester hears of outcomes only: not of the request they just made, nor of each decision on the way.
    if (event.status === 'pending' || event.status === 'approved') return;
    for (const session of this.sessions.values()) {
      if (session.subject !== event.requesterSubject || !logLevelReaches('notice', session.client.logLevel)) continue;
      session.server
        .sendLoggingMessage({
          level: 'notice',
          logger: 'gatehouse.approvals',
          data: { approvalRequestId: event.requestId, status: event.status, hint: 'Call gatehouse_get_approval with this id for the details and the result.' },
        })
        .catch((error: unknown) => this.logger.debug({ err: error }, 'Could not notify a session'));
    }
  }

  private scheduleListChanged(organizationId: string, kind: 'tools' | ListingKind): void {
    const key = `${kind}:${organizationId}`;
    if (this.pendingNotices.has(key)) return;
    const timer = setTimeout(() => {
      this.pendingNotices.delete(key);
      for (const session of this.sessions.values()) {
        if (session.organizationId !== organizationId) continue;
        const { server } = session;
        const sent = kind === 'tools' ? server.sendToolListChanged() : kind === 'prompts' ? server.sendPromptListChanged() : server.sendResourceListChanged();
        sent.catch((error: unknown) => this.logger.debug({ err: error }, 'Could not notify a session'));
      }
    }, LIST_CHANGED_DEBOUNCE_MS);
    timer.unref();
    this.pendingNotices.set(key, timer);
  }

  private sweep(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const session of this.sessions.values()) {
      if (session.lastSeen >= cutoff) continue;
      session.endReason ??= 'idle';
      void session.transport.close();
    }
  }

  private record(session: McpSession, kind: 'mcp.session.started' | 'mcp.session.ended', data: Record<string, unknown>): void {
    const recorded = this.recorder.record({
      organizationId: session.organizationId,
      kind,
      actor: session.actor,
      target: { type: 'mcp_session', id: session.id },
      outcome: 'success',
      data,
    });
    this.recording.add(recorded);
    void recorded.finally(() => this.recording.delete(recorded));
  }
}

// The principal that opened the session, at the door it was opened at (endpoint names are per organization, and
// the principal's organization is the session's).
function opensSession(session: McpSession, principal: Principal, door: EndpointView): boolean {
  return session.subject === principal.subject && session.door === door.name;
}

// Client-supplied strings, bounded: they go into the audit log as they came.
function text(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, 200) : null;
}
