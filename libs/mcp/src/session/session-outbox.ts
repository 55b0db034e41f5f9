import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { Response } from 'express';
import { AppConfig } from '@gatehouse/config';
import { ClusterBus, RedisService } from '@gatehouse/db';

interface Appended {
  sessionId: string;
}

/** One GET stream this replica writes: what it sent last, and whether a read for it is under way. */
interface Stream {
  response: Response;
  lastId: string;
  reading: Promise<void> | null;
  again: boolean;
}

const CHANNEL = 'mcp.session-outbox';
// A client that reconnects after this many notices missed them; far more than list changes and updates in a gap.
const MAX_ENTRIES = 1000;
const READ_BATCH = 100;
// A Redis stream entry id, as an SSE event id: anything else in Last-Event-ID is not one of ours.
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

/**
 * Each session's notices (list changes, resource updates, approval outcomes) in a Redis stream of its own
 * (`<prefix>:mcp:outbox:<id>`, bounded, expiring with the session), written by any replica and sent on the session's
 * GET stream by the replica holding it, the entry id as the SSE event id. A GET with `Last-Event-ID` (the client
 * reconnecting, on any replica) first gets what followed that entry in the same session's stream: an id from another
 * session's stream only picks a point in time of this one.
 */
@Injectable()
export class SessionOutbox implements OnModuleInit {
  private readonly logger = new Logger(SessionOutbox.name);
  private readonly streams = new Map<string, Set<Stream>>();

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly bus: ClusterBus,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (payload) => {
      const { sessionId } = payload as Appended;
      this.streams.get(sessionId)?.forEach((stream) => this.pump(sessionId, stream));
    });
  }

  /** Appends a notice to the session's outbox; the replica holding its GET stream sends it. */
  async append(sessionId: string, notification: ServerNotification): Promise<void> {
    const key = this.keyOf(sessionId);
    await this.redis.client.xadd(key, 'MAXLEN', '~', String(MAX_ENTRIES), '*', 'm', JSON.stringify(notification));
    await this.redis.client.pexpire(key, this.config.env.GATEHOUSE_SESSION_IDLE_SECONDS * 1000);
    await this.bus.publish(CHANNEL, { sessionId } satisfies Appended);
  }

  /** Serves a GET stream of the session on `response`, from after `lastEventId` when the client sent one of ours. */
  async open(sessionId: string, response: Response, lastEventId: string | undefined): Promise<void> {
    const start = lastEventId !== undefined && ENTRY_ID.test(lastEventId) ? lastEventId : await this.lastId(sessionId);
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'mcp-session-id': sessionId,
    });
    response.flushHeaders();
    const stream: Stream = { response, lastId: start, reading: null, again: false };
    const held = this.streams.get(sessionId) ?? new Set<Stream>();
    held.add(stream);
    this.streams.set(sessionId, held);
    response.once('close', () => {
      held.delete(stream);
      if (held.size === 0 && this.streams.get(sessionId) === held) this.streams.delete(sessionId);
    });
    // Also what was appended between reading the start and registering the stream.
    this.pump(sessionId, stream);
  }

  /** True while a GET stream of the session is open here. */
  holds(sessionId: string): boolean {
    return this.streams.has(sessionId);
  }

  /** The sessions with a GET stream here. */
  held(): string[] {
    return [...this.streams.keys()];
  }

  /** The session ended: its streams here end, and its outbox goes. */
  async close(sessionId: string): Promise<void> {
    const held = this.streams.get(sessionId);
    this.streams.delete(sessionId);
    held?.forEach((stream) => stream.response.end());
    await this.redis.client.del(this.keyOf(sessionId));
  }

  /** This replica stops: its streams end (their clients reconnect to another replica, with Last-Event-ID). */
  endAll(): void {
    this.streams.forEach((held) => held.forEach((stream) => stream.response.end()));
    this.streams.clear();
  }

  // Reads what followed the stream's last entry and writes it; one read at a time per stream, again if woken meanwhile.
  private pump(sessionId: string, stream: Stream): void {
    if (stream.reading) {
      stream.again = true;
      return;
    }
    stream.reading = this.drain(sessionId, stream)
      .catch((error: unknown) => this.logger.warn({ err: error, session: sessionId }, 'Could not read a session outbox'))
      .finally(() => {
        stream.reading = null;
        if (stream.again) {
          stream.again = false;
          this.pump(sessionId, stream);
        }
      });
  }

  private async drain(sessionId: string, stream: Stream): Promise<void> {
    for (;;) {
      if (stream.response.writableEnded || stream.response.destroyed) return;
      const entries = await this.redis.client.xrange(this.keyOf(sessionId), `(${stream.lastId}`, '+', 'COUNT', READ_BATCH);
      for (const [id, fields] of entries) {
        const message = fields[fields.indexOf('m') + 1];
        if (message !== undefined) stream.response.write(`id: ${id}\nevent: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...(JSON.parse(message) as object) })}\n\n`);
        stream.lastId = id;
      }
      if (entries.length < READ_BATCH) return;
    }
  }

  // Where a stream opened without Last-Event-ID starts: after whatever the outbox holds now.
  private async lastId(sessionId: string): Promise<string> {
    const [last] = await this.redis.client.xrevrange(this.keyOf(sessionId), '+', '-', 'COUNT', 1);
    return last?.[0] ?? '0-0';
  }

  private keyOf(sessionId: string): string {
    return this.redis.key('mcp', 'outbox', sessionId);
  }
}
