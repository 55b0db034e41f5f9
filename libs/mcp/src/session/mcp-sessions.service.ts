import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest, RequestId, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { AuditRecorder } from '@gatehouse/audit';
import { AppConfig } from '@gatehouse/config';
import { ConnectionRegistry, GatewayMetrics, ListingKind } from '@gatehouse/connections';
import { ClusterBus } from '@gatehouse/db';
import { ApprovalEvent, ApprovalEvents, EndpointView } from '@gatehouse/governance';
import { auditActorOf, Principal } from '@gatehouse/identity';
import { McpAdmission } from '../limits/mcp-admission';
import { logLevelReaches, sessionClient } from '../relay/client-channel';
import { CallTracker } from '../tools/call-tracker';
import { traceIdOf } from '../tools/tool-call.dispatcher';
import { writeJsonRpcError } from './json-rpc-response';
import { McpServerFactory } from './mcp-server.factory';
import { ResourceSubscriptions } from './resource-subscriptions';
import { SessionRecord, SessionStore } from './session-store';
import { SessionOutbox } from './session-outbox';
import { batchRequestIds, ExchangeRequest, ExchangeSession, ToolCallExchange, toolCallRequests } from './tool-call-exchange';

/** Why a session ended, as its mcp.session.ended record says. */
type EndReason = 'deleted' | 'idle';

interface Cancel {
  sessionId: string;
  requestId: RequestId;
  reason: string;
}

const LIST_CHANGED_DEBOUNCE_MS = 50;
const CANCELS = 'mcp.session-cancels';

// Upstream sessions are records in Redis (SessionStore), so any replica serves any session: each request gets its own
// SDK Server and stateless transport, after Gatehouse checked the session itself. Each session is bound to the
// principal that opened it and the door it was opened at (/mcp or /mcp/<endpoint>): another principal, or another
// door, presenting its id gets 404, as if it did not exist. What stays in a process: the calls it runs, the GET streams
// it holds (SessionOutbox) and the session slots of the sessions it opened (McpAdmission).
@Injectable()
export class McpSessions implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(McpSessions.name);
  /** The calls each session runs on this replica, by request id: a cancel from any replica reaches them. */
  private readonly calls = new Map<string, Map<RequestId, AbortController>>();
  /** The session slots of the sessions opened here, given back when they end, wherever that happens. */
  private readonly slots = new Map<string, () => void>();
  private readonly pendingNotices = new Map<string, NodeJS.Timeout>();
  private readonly unsubscribers: (() => void)[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  // Session records are appended after the answer is on its way; shutdown waits for them.
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
    private readonly store: SessionStore,
    private readonly outbox: SessionOutbox,
    private readonly subscriptions: ResourceSubscriptions,
    private readonly bus: ClusterBus,
  ) {}

  /** Sessions opened at this replica and not ended. */
  get size(): number {
    return this.slots.size;
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribers.push(
      this.registry.onToolsChanged((organizationId) => this.scheduleListChanged(organizationId, 'tools')),
      this.registry.onListingsChanged((organizationId, kind) => this.scheduleListChanged(organizationId, kind)),
      this.store.onEvent((event) => event.type === 'ended' && this.ended(event.id)),
    );
    await this.bus.subscribe(CANCELS, (payload) => {
      const { sessionId, requestId, reason } = payload as Cancel;
      this.calls.get(sessionId)?.get(requestId)?.abort(reason);
    });
    await this.approvalEvents.subscribe((event) => this.notifyApproval(event));
    const idleMs = this.config.env.GATEHOUSE_SESSION_IDLE_SECONDS * 1000;
    this.sweeper = setInterval(() => void this.sweep(), Math.min(idleMs, 60_000));
    this.sweeper.unref();
  }

  async handle(request: Request, response: Response, principal: Principal, door: EndpointView): Promise<void> {
    // POSTs carry calls and their results; GET is the long-lived notification stream and never "finishes".
    if (request.method === 'POST') response.once('close', this.tracker.begin());
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const record = await this.store.find(sessionId);
      if (!record || !opensSession(record, principal, door)) {
        return writeJsonRpcError(response, 404, -32001, 'Session not found: start a new session with initialize');
      }
      if (request.method === 'DELETE') return this.delete(record, response);
      if (request.method === 'GET') return this.stream(record, request, response);
      // The fast path passes on sessions this replica had not seen yet; now that it has, the exchange may answer.
      if (this.exchange.handle(this.exchangeSession(record), request, response, principal, door)) return;
      // tools/call reaches this only when the exchange passed it on (batches, duplicate ids); the SDK's transport
      // answers it as well, once admitted as the fast path admits its own.
      const calls = request.method === 'POST' ? toolCallRequests(request.body) : [];
      if (calls.length > 0) {
        const traceId = traceIdOf(request.headers['traceparent']);
        const answers = Array.isArray(request.body) ? batchRequestIds(request.body) : calls[0]!.id;
        if (!(await this.admission.calls(principal, calls, { sessionId, answers, ...(traceId ? { traceId } : {}) }, response))) return;
      }
      return this.serve(record, request, response, principal, door);
    }
    if (request.method !== 'POST' || !isInitializeRequest(request.body)) {
      return writeJsonRpcError(response, 400, -32000, 'Bad Request: missing Mcp-Session-Id header (send initialize first)');
    }
    return this.open(request, response, principal, door);
  }

  /**
   * A POSTed message on an established session that ToolCallExchange answers itself (tools/call): true when it
   * did. False leaves the request untouched for handle(), which owns every other answer (and loads sessions this
   * replica has not seen yet).
   */
  handleExchange(request: ExchangeRequest, response: ServerResponse, principal: Principal, door: EndpointView): boolean {
    const sessionId = request.headers['mcp-session-id'];
    const record = typeof sessionId === 'string' ? this.store.peek(sessionId) : null;
    if (!record || !opensSession(record, principal, door)) return false;
    if (!this.exchange.handle(this.exchangeSession(record), request, response, principal, door)) return false;
    // In the same tick as the call starts, so a drain never misses it.
    response.once('close', this.tracker.begin());
    this.store.touch(record.id).catch((error: unknown) => this.logger.warn({ err: error }, 'Could not keep a session alive'));
    return true;
  }

  // This replica stops; its sessions do not: another replica serves them (their GET streams reconnect there).
  async closeAll(): Promise<void> {
    // The sessions stay for the other replicas, but the calls this process still runs after the grace period cannot
    // outlive it: cancelled now, so each records its outcome before the connections and the audit writer close.
    this.calls.forEach((calls) => calls.forEach((call) => call.abort('the gateway is shutting down')));
    this.calls.clear();
    this.outbox.endAll();
    this.store.forgetAll();
    this.slots.forEach((release) => release());
    this.slots.clear();
    this.metrics.mcpSessions.set(0);
    await Promise.allSettled([...this.recording]);
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribers.forEach((unsubscribe) => unsubscribe());
    if (this.sweeper) clearInterval(this.sweeper);
    this.pendingNotices.forEach((timer) => clearTimeout(timer));
    await this.closeAll();
  }

  private async open(request: Request, response: Response, principal: Principal, door: EndpointView): Promise<void> {
    const release = this.admission.session(principal, request, response);
    if (!release) return;
    const params = (request.body as { params?: { protocolVersion?: unknown; clientInfo?: { name?: unknown; version?: unknown } } }).params;
    const record: SessionRecord = {
      id: randomUUID(),
      subject: principal.subject,
      organizationId: principal.organizationId,
      door: door.name,
      protocolVersion: text(params?.protocolVersion),
      clientInfo: { name: text(params?.clientInfo?.name), version: text(params?.clientInfo?.version) },
      client: sessionClient(params),
      openedAt: Date.now(),
      actor: auditActorOf(principal),
    };
    // Stored before the answer leaves: the client's next request may reach another replica first.
    await this.store.create(record);
    response.setHeader('mcp-session-id', record.id);
    try {
      await this.serve(record, request, response, principal, door);
    } finally {
      if (response.statusCode === 200) {
        this.slots.set(record.id, release);
        this.metrics.mcpSessions.set(this.slots.size);
        this.record(record, 'mcp.session.started', {
          ...(record.door === null ? {} : { endpoint: record.door }),
          protocolVersion: record.protocolVersion,
          client: record.clientInfo,
        });
      } else {
        // An initialize the transport refused opened no session.
        release();
        await this.store.discard(record.id);
      }
    }
  }

  // The session's notification stream, from its outbox; a client reconnecting (to any replica) resumes with Last-Event-ID.
  private async stream(record: SessionRecord, request: Request, response: Response): Promise<void> {
    if (!request.headers.accept?.includes('text/event-stream')) {
      return writeJsonRpcError(response, 406, -32000, 'Not Acceptable: the notification stream (GET) needs Accept: text/event-stream');
    }
    const lastEventId = request.headers['last-event-id'];
    await this.outbox.open(record.id, response, typeof lastEventId === 'string' ? lastEventId : undefined);
    // The replica holding the stream holds the session's resource subscriptions downstream, until it no longer does.
    this.subscriptions.follow(record.id);
    response.once('close', () => this.subscriptions.follow(record.id));
  }

  // One POST of the session, on a Server and stateless transport of its own.
  private async serve(record: SessionRecord, request: Request, response: Response, principal: Principal, door: EndpointView): Promise<void> {
    const server = this.factory.create(
      { id: record.id, client: { ...record.client }, setLogLevel: (level) => this.store.setLogLevel(record.id, level) },
      door,
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    response.once('close', () => void server.close());
    response.setHeader('mcp-session-id', record.id);
    // The door's view and the session go with the principal to the SDK's handlers (McpServerFactory), fresh on every request.
    const auth: AuthInfo = { token: principal.subject, clientId: principal.subject, scopes: [], extra: { principal, endpoint: door, sessionId: record.id } };
    await transport.handleRequest(Object.assign(request, { auth }), response, request.body);
  }

  private async delete(record: SessionRecord, response: Response): Promise<void> {
    if (await this.store.end(record.id)) this.recordEnd(record, 'deleted');
    response.status(200).end();
  }

  private exchangeSession(record: SessionRecord): ExchangeSession {
    let calls = this.calls.get(record.id);
    if (!calls) {
      calls = new Map();
      this.calls.set(record.id, calls);
    }
    return {
      id: record.id,
      client: record.client,
      calls,
      cancelElsewhere: (requestId, reason) => this.bus.publish(CANCELS, { sessionId: record.id, requestId, reason } satisfies Cancel),
    };
  }

  // A session ended, on this replica or another: what this replica held of it goes.
  private ended(id: string): void {
    this.calls.get(id)?.forEach((call) => call.abort('the session ended'));
    this.calls.delete(id);
    this.outbox.close(id).catch((error: unknown) => this.logger.warn({ err: error }, 'Could not drop a session outbox'));
    this.subscriptions.endSession(id);
    const release = this.slots.get(id);
    if (release) {
      this.slots.delete(id);
      release();
      this.metrics.mcpSessions.set(this.slots.size);
    }
  }

  // Requesters hear about their approval requests on their sessions' streams, on whichever replica holds them.
  private notifyApproval(event: ApprovalEvent): void {
    // The requester hears of outcomes only: not of the request they just made, nor of each decision on the way.
    if (event.status === 'pending' || event.status === 'approved') return;
    for (const id of this.outbox.held()) {
      const record = this.store.peek(id);
      if (!record || record.subject !== event.requesterSubject || !logLevelReaches('notice', record.client.logLevel)) continue;
      this.notify(id, {
        method: 'notifications/message',
        params: {
          level: 'notice',
          logger: 'gatehouse.approvals',
          data: { approvalRequestId: event.requestId, status: event.status, hint: 'Call gatehouse_get_approval with this id for the details and the result.' },
        },
      });
    }
  }

  private scheduleListChanged(organizationId: string, kind: 'tools' | ListingKind): void {
    const key = `${kind}:${organizationId}`;
    if (this.pendingNotices.has(key)) return;
    const timer = setTimeout(() => {
      this.pendingNotices.delete(key);
      const method = kind === 'tools' ? 'notifications/tools/list_changed' : kind === 'prompts' ? 'notifications/prompts/list_changed' : 'notifications/resources/list_changed';
      for (const id of this.outbox.held()) {
        if (this.store.peek(id)?.organizationId === organizationId) this.notify(id, { method });
      }
    }, LIST_CHANGED_DEBOUNCE_MS);
    timer.unref();
    this.pendingNotices.set(key, timer);
  }

  // Events every replica hears (list changes, approval outcomes) are written by the one holding the session's stream.
  private notify(sessionId: string, notification: ServerNotification): void {
    this.outbox.append(sessionId, notification).catch((error: unknown) => this.logger.warn({ err: error }, 'Could not notify a session'));
  }

  private async sweep(): Promise<void> {
    try {
      for (const record of await this.store.expired()) this.recordEnd(record, 'idle');
    } catch (error) {
      this.logger.warn({ err: error }, 'Could not sweep idle sessions');
    }
  }

  private recordEnd(record: SessionRecord, reason: EndReason): void {
    this.record(record, 'mcp.session.ended', { reason, durationMs: Date.now() - record.openedAt });
  }

  private record(session: SessionRecord, kind: 'mcp.session.started' | 'mcp.session.ended', data: Record<string, unknown>): void {
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
function opensSession(session: SessionRecord, principal: Principal, door: EndpointView): boolean {
  return session.subject === principal.subject && session.door === door.name;
}

// Client-supplied strings, bounded: they go into the audit log as they came.
function text(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, 200) : null;
}
