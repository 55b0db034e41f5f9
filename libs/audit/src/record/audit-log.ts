import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { AuditJson, AuditRepository } from '@gatehouse/db';
import { auditId } from './audit-id';
import { AuditEntry } from './audit-record';
import { CHAIN_NOW_JOB_ID } from '../jobs/audit.job';

// Appends arriving within this window share one chaining job.
const CHAIN_DEBOUNCE_MS = 250;

// Appending is one statement that chains the record (AUDIT_APPEND): when append() resolves, the record is durable
// and chained. What follows an append (a signed checkpoint when due, delivery to the SIEM sinks, chaining what was
// appended unchained) runs on a job.
@Injectable()
export class AuditLog implements OnApplicationShutdown {
  private readonly logger = new Logger(AuditLog.name);
  private chainTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repository: AuditRepository,
    @InjectQueue(QUEUES.audit) private readonly queue: Queue,
  ) {}

  /** Resolves once the record is committed; rejects when the audit store cannot write. Returns the event id. */
  async append(entry: AuditEntry): Promise<string> {
    const eventId = entry.eventId ?? auditId();
    await this.repository.append({
      organizationId: entry.organizationId,
      eventId,
      // Millisecond precision, like the column, so the hash covers exactly what is stored.
      occurredAt: new Date(Math.floor((entry.occurredAt ?? new Date()).getTime())),
      kind: entry.kind,
      actor: { ...entry.actor },
      target: (entry.target ?? null) as AuditJson | null,
      outcome: entry.outcome ?? null,
      traceId: entry.traceId ?? null,
      data: (entry.data ?? {}) as AuditJson,
      callId: entry.callId ?? null,
    });
    this.requestChaining();
    return eventId;
  }

  // Best effort: the repeatable job runs within seconds anyway, so a failed enqueue is only logged. Public for
  // writers that append records by their own statements (tools/call records, CallAuditWriter).
  requestChaining(): void {
    if (this.chainTimer) return;
    this.chainTimer = setTimeout(() => {
      this.chainTimer = null;
      this.queue
        .add(JOBS.chainAudit, {}, { jobId: CHAIN_NOW_JOB_ID, removeOnComplete: true, removeOnFail: true })
        .catch((error: unknown) => this.logger.warn({ err: error }, 'Could not enqueue audit chaining; the periodic run will chain'));
    }, CHAIN_DEBOUNCE_MS);
    this.chainTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.chainTimer) clearTimeout(this.chainTimer);
    this.chainTimer = null;
  }
}
