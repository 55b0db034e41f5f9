import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ClientCapabilitiesSchema, LoggingLevel, LoggingLevelSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AuditActor } from '@gatehouse/audit';
import { AppConfig } from '@gatehouse/config';
import { ClusterBus, RedisService } from '@gatehouse/db';
import { SessionClient } from '../relay/client-channel';

/** An upstream session as every replica knows it: written at initialize, read by whichever replica a request reaches. */
export interface SessionRecord {
  id: string;
  subject: string;
  organizationId: string;
  /** The endpoint it was opened at (null: /mcp); at any other door its id is unknown. */
  door: string | null;
  protocolVersion: string | null;
  clientInfo: { name: string | null; version: string | null };
  client: SessionClient;
  openedAt: number;
  /** Who opened it, with the IP and user agent of the request that did: the ended record names them too. */
  actor: AuditActor;
}

// What Redis gives back is checked as any input is: a record another version wrote, or a damaged one, is no session.
const RecordSchema = z.object({
  id: z.string(),
  subject: z.string(),
  organizationId: z.string(),
  door: z.string().nullable(),
  protocolVersion: z.string().nullable(),
  clientInfo: z.object({ name: z.string().nullable(), version: z.string().nullable() }),
  client: z.object({ capabilities: ClientCapabilitiesSchema, logLevel: LoggingLevelSchema.nullable() }),
  openedAt: z.number(),
  actor: z.object({
    type: z.enum(['user', 'api_key', 'oauth_client', 'system']),
    id: z.string().nullable(),
    name: z.string().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    user: z.object({ id: z.string().nullable(), email: z.string().nullable() }).nullable().optional(),
  }),
});

/** A session ended (by DELETE or idle, on any replica), or its record changed (its log level). */
export type SessionEvent = { type: 'ended'; id: string } | { type: 'changed'; id: string };

interface Cached {
  record: SessionRecord;
  /** When this replica last pushed the record's expiry forward. */
  refreshedAt: number;
  /** Found expired: kept until expired() claims its end. */
  gone: boolean;
}

const CHANNEL = 'mcp.sessions';
// A session in use has its expiry pushed forward at most this often per replica: not a Redis write per call.
const REFRESH_INTERVAL_MS = 5_000;
// Session ids are ours (UUIDs); anything longer is not one and never reaches Redis.
const MAX_ID_LENGTH = 64;

/**
 * Upstream session records in Redis (key `<prefix>:mcp:session:<id>`), expiring after the idle timeout unless used.
 * Each replica caches the records it has served; an end or a change reaches every replica's cache over the cluster
 * bus. A session's end is claimed once (the DEL that removed the record, or the claim on an expired one), so its
 * mcp.session.ended record is written once, by the replica that claimed it.
 */
@Injectable()
export class SessionStore implements OnModuleInit {
  private readonly logger = new Logger(SessionStore.name);
  private readonly cache = new Map<string, Cached>();
  private readonly listeners = new Set<(event: SessionEvent) => void>();

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly bus: ClusterBus,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (payload) => {
      const event = payload as SessionEvent;
      this.cache.delete(event.id);
      this.listeners.forEach((listener) => listener(event));
    });
  }

  /** Hears every session event, this replica's own included. */
  onEvent(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async create(record: SessionRecord): Promise<void> {
    await this.redis.client.set(this.keyOf(record.id), JSON.stringify(record), 'PX', this.idleMs);
    this.cache.set(record.id, { record, refreshedAt: Date.now(), gone: false });
  }

  /** The session as this replica last saw it, without asking Redis (the fast path's lookup); touch() keeps it alive. */
  peek(id: string): SessionRecord | null {
    const cached = this.cache.get(id);
    return cached && !cached.gone ? cached.record : null;
  }

  /** The live session with this id, or null; its expiry is pushed forward. */
  async find(id: string): Promise<SessionRecord | null> {
    if (id.length === 0 || id.length > MAX_ID_LENGTH) return null;
    if (this.cache.has(id)) return (await this.touch(id)) ? this.peek(id) : null;
    const stored = await this.redis.client.get(this.keyOf(id));
    const record = stored === null ? null : parseRecord(stored);
    if (!record || record.id !== id) return null;
    await this.redis.client.pexpire(this.keyOf(id), this.idleMs);
    this.cache.set(id, { record, refreshedAt: Date.now(), gone: false });
    return record;
  }

  /** The session was used here: its expiry goes forward, at most every few seconds per replica. False once it is gone. */
  async touch(id: string): Promise<boolean> {
    const cached = this.cache.get(id);
    if (!cached || cached.gone) return false;
    if (Date.now() - cached.refreshedAt < REFRESH_INTERVAL_MS) return true;
    cached.refreshedAt = Date.now();
    // A record that expired meanwhile (idle) is gone for every replica, this one included.
    if ((await this.redis.client.pexpire(this.keyOf(id), this.idleMs)) === 1) return true;
    cached.gone = true;
    return false;
  }

  /** The session's client set a log level: every replica serves the session with it from now on. */
  async setLogLevel(id: string, level: LoggingLevel): Promise<void> {
    const record = await this.find(id);
    if (!record) return;
    const updated = { ...record, client: { ...record.client, logLevel: level } };
    // KEEPTTL: a change is not a use, and an ended session's record is not brought back (XX).
    await this.redis.client.set(this.keyOf(id), JSON.stringify(updated), 'KEEPTTL', 'XX');
    this.cache.set(id, { record: updated, refreshedAt: Date.now(), gone: false });
    await this.publish({ type: 'changed', id });
  }

  /** Ends the session: true when this call ended it (then its caller records the end), false when it was gone. */
  async end(id: string): Promise<boolean> {
    const ended = (await this.redis.client.del(this.keyOf(id))) === 1 && (await this.claimEnd(id));
    this.cache.delete(id);
    if (ended) await this.publish({ type: 'ended', id });
    return ended;
  }

  /** A session whose initialize failed: it never was, so it has no end to record. */
  async discard(id: string): Promise<void> {
    this.cache.delete(id);
    await this.redis.client.del(this.keyOf(id));
  }

  /**
   * Sessions cached here and unused for the idle timeout on every replica (their record expired): each is claimed by
   * one replica, which gets it back here to record its end.
   */
  async expired(): Promise<SessionRecord[]> {
    const ended: SessionRecord[] = [];
    for (const [id, { record, refreshedAt, gone }] of this.cache) {
      if (!gone && Date.now() - refreshedAt < this.idleMs) continue;
      if (!gone && (await this.redis.client.exists(this.keyOf(id))) === 1) continue;
      this.cache.delete(id);
      if (await this.claimEnd(id)) {
        ended.push(record);
        await this.publish({ type: 'ended', id });
      }
    }
    return ended;
  }

  /** This replica stops: the sessions stay for the others; only its cache goes. */
  forgetAll(): void {
    this.cache.clear();
  }

  private get idleMs(): number {
    return this.config.env.GATEHOUSE_SESSION_IDLE_SECONDS * 1000;
  }

  // One claim per session id, whichever way it ended and however many replicas noticed; kept a day, far past any reuse.
  private async claimEnd(id: string): Promise<boolean> {
    return (await this.redis.client.set(this.redis.key('mcp', 'session-ended', id), '1', 'EX', 86_400, 'NX')) === 'OK';
  }

  private keyOf(id: string): string {
    return this.redis.key('mcp', 'session', id);
  }

  private async publish(event: SessionEvent): Promise<void> {
    await this.bus.publish(CHANNEL, event).catch((error: unknown) => this.logger.warn({ err: error, session: event.id }, 'Could not tell the other replicas of a session event'));
  }
}

function parseRecord(stored: string): SessionRecord | null {
  try {
    const parsed = RecordSchema.safeParse(JSON.parse(stored));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
