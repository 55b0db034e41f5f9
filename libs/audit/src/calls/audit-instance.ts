import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AuditCallRepository, RedisService } from '@gatehouse/db';

// A process is alive while its key exists; a killed process's key lapses after the TTL, and its open calls
// are then reconciled as interrupted. Refreshing at a third of the TTL survives one missed beat.
const HEARTBEAT_TTL_MS = 15_000;
const HEARTBEAT_EVERY_MS = 5_000;

// This process's identity on the request records of the calls it runs, its heartbeat in Redis, and its row in
// audit_instances: the start of its oldest call that may lack an outcome record, refreshed with each beat, so that
// reconciliation reads its requests from there on rather than from the start of its life.
@Injectable()
export class AuditInstance implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuditInstance.name);
  readonly id = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  // The calls that may lack an outcome record: from just before their request record is written until their outcome is
  // committed.
  private readonly calls = new Set<{ readonly startedAt: Date }>();
  // The oldest call left without an outcome from here (its outcome's write failed): until this process ends, for
  // reconciliation then. One time, not the calls, so that an outage's failed calls cost no memory.
  private floor = Infinity;
  private registering: Promise<void> | null = null;
  // The open_since of the latest row write issued (ms): a call that started before it must bring the row back first.
  private issued = 0;

  constructor(
    private readonly redis: RedisService,
    private readonly repository: AuditCallRepository,
  ) {}

  // The first beat is awaited: no call may be opened under an id that other replicas would consider dead, or before
  // the row that tells reconciliation where its calls start.
  async onModuleInit(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.logger.warn({ err: error }, 'Could not refresh the audit heartbeat'));
    }, HEARTBEAT_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * A call is about to write its request record: until `end` (once its outcome is committed), no beat moves this
   * process's open_since past its start. Resolves once the row is at or before its start: a beat issued between the
   * call's start and now may have moved it past (rare: a beat every 5 s, and a call opens within milliseconds).
   * Null when there is nothing to wait for.
   */
  opening(call: { readonly startedAt: Date }): Promise<void> | null {
    this.calls.add(call);
    return call.startedAt.getTime() >= this.issued ? null : this.lower(call.startedAt);
  }

  end(call: { readonly startedAt: Date }): void {
    this.calls.delete(call);
  }

  /** A call that may have a request record and will get no outcome record from this process. */
  leaveOpen(call: { readonly startedAt: Date }): void {
    this.floor = Math.min(this.floor, call.startedAt.getTime());
  }

  /** Of these instance ids, those without a heartbeat. */
  async dead(instanceIds: string[]): Promise<string[]> {
    if (instanceIds.length === 0) return [];
    const beats = await this.redis.client.mget(...instanceIds.map((id) => this.key(id)));
    return instanceIds.filter((_, i) => beats[i] === null);
  }

  /** No more beats (at shutdown, before it ends its own calls): none re-creates the row those end with. */
  async stopBeating(): Promise<void> {
    this.onModuleDestroy();
    await this.registering?.catch(() => undefined);
  }

  /** Ends this process's heartbeat (at shutdown, once its own open calls are ended). */
  async stop(): Promise<void> {
    this.onModuleDestroy();
    await this.redis.client.del(this.key(this.id));
  }

  private async lower(openSince: Date): Promise<void> {
    // After the write in flight, which could otherwise land after this one and move the row past it again.
    await this.registering?.catch(() => undefined);
    await this.repository.lowerInstance(this.id, openSince);
  }

  /** One beat: the heartbeat, and the row with where this process's open calls start. */
  async refresh(): Promise<void> {
    await this.redis.client.set(this.key(this.id), String(Date.now()), 'PX', HEARTBEAT_TTL_MS);
    // A beat whose row write is still running (a slow database) is not overtaken: values only grow, and an older one
    // committed later would only make reconciliation read further back.
    if (!this.registering) {
      const since = this.openSince();
      this.issued = Math.max(this.issued, since.getTime());
      this.registering = this.repository.registerInstance(this.id, since).finally(() => (this.registering = null));
    }
    await this.registering;
  }

  /**
   * The start of this process's oldest call that may lack an outcome record (now, without one). Computed in the tick a
   * row write is issued: every call tracked later starts at or after it.
   */
  openSince(): Date {
    let oldest = Math.min(Date.now(), this.floor);
    for (const call of this.calls) oldest = Math.min(oldest, call.startedAt.getTime());
    return new Date(oldest);
  }

  private key(id: string): string {
    return this.redis.key('audit', 'instance', id);
  }
}
