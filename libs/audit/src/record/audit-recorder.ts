import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '@gatehouse/db';
import { AuditEntry } from './audit-record';
import { AuditLog } from './audit-log';

/** The deployment's own chain: failed authentications whose credential names no organization. */
export const DEPLOYMENT_ORGANIZATION_ID = '00000000-0000-0000-0000-000000000000';

// Records events whose action has already taken effect: a committed change, an answered sign-in, an opened
// session. A failed append must not turn that into an error for the caller (the change stands either way), so
// it is logged at error level with the event and counted instead of thrown. tools/call is different: it is
// fail-closed and appends through AuditLog directly.
@Injectable()
export class AuditRecorder {
  private readonly logger = new Logger(AuditRecorder.name);
  private lost = 0;
  private readonly lostCounter = new Counter({
    name: 'gatehouse_audit_records_lost_total',
    help: 'Audit records of events that took effect but could not be written (each also logged at error level), by kind',
    labelNames: ['kind'] as const,
    registers: [],
  });

  constructor(
    private readonly log: AuditLog,
    metrics: MetricsRegistry,
  ) {
    metrics.registerMetric(this.lostCounter);
  }

  /** Appends that failed since start (each also logged at error level). */
  get lostRecords(): number {
    return this.lost;
  }

  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.log.append(entry);
    } catch (error) {
      this.lost += 1;
      this.lostCounter.inc({ kind: entry.kind });
      const event = { kind: entry.kind, organizationId: entry.organizationId, outcome: entry.outcome ?? null, target: entry.target ?? null, actor: entry.actor };
      this.logger.error({ err: error, event, lostRecords: this.lost }, `Audit record lost: ${entry.kind} happened but could not be recorded`);
    }
  }
}
