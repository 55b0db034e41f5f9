import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RedisService } from '@gatehouse/db';

// A process is alive while its key exists; a killed process's key lapses after the TTL, and its open calls
// are then reconciled as interrupted. Refreshing at a third of the TTL survives one missed beat.
const HEARTBEAT_TTL_MS = 15_000;
const HEARTBEAT_EVERY_MS = 5_000;

// This process's identity in audit_open_calls, and its heartbeat in Redis.
@Injectable()
export class AuditInstance implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuditInstance.name);
  readonly id = randomUUID();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly redis: RedisService) {}

  // The first beat is awaited: no call may be opened under an id that other replicas would consider dead.
  async onModuleInit(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.beat().catch((error: unknown) => this.logger.warn({ err: error }, 'Could not refresh the audit heartbeat'));
    }, HEARTBEAT_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Of these instance ids, those without a heartbeat. */
  async dead(instanceIds: string[]): Promise<string[]> {
    if (instanceIds.length === 0) return [];
    const beats = await this.redis.client.mget(...instanceIds.map((id) => this.key(id)));
    return instanceIds.filter((_, i) => beats[i] === null);
  }

  /** Ends this process's heartbeat (at shutdown, once its own open calls are ended). */
  async stop(): Promise<void> {
    this.onModuleDestroy();
    await this.redis.client.del(this.key(this.id));
  }

  private async beat(): Promise<void> {
    await this.redis.client.set(this.key(this.id), String(Date.now()), 'PX', HEARTBEAT_TTL_MS);
  }

  private key(id: string): string {
    return this.redis.key('audit', 'instance', id);
  }
}
