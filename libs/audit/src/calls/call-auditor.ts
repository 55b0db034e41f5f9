import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AuditAppend, AuditCallRepository, AuditJson, AuditSettings, DEFAULT_AUDIT_SETTINGS, MetricsRegistry } from '@gatehouse/db';
import { auditId } from '../record/audit-id';
import { AuditRedactor } from '../redaction/audit-redactor';
import { AuditSettingsService } from '../settings/audit-settings.service';
import { AuditInstance } from './audit-instance';
import {
  CALL_OUTCOME_KIND,
  CALL_REQUEST_KIND,
  CallAuditOutcome,
  CallAuditRefusal,
  CallAuditStart,
  CallDecision,
  CallOutcomeFields,
} from './call-audit';
import { CallAuditWriter } from './call-audit-writer';

// At shutdown, calls aborted by the closing sessions get this long to record their own outcome before the
// rest are recorded as interrupted.
const SHUTDOWN_SETTLE_MS = 1_000;

/** One tools/call's audit: its request record, then exactly one outcome record, sharing the call id. */
export class CallAudit {
  readonly callId = auditId();
  private readonly requestEventId = auditId();
  readonly startedAt = new Date();
  private readonly started = performance.now();
  private decision: CallDecision | null = null;
  private ended = false;
  // Fail-open: the call went ahead without its request record; it is written later, with the outcome.
  private requestUnwritten = false;

  constructor(
    private readonly auditor: CallAuditor,
    private readonly start: CallAuditStart,
    private readonly settings: AuditSettings,
  ) {}

  get organizationId(): string {
    return this.start.organizationId;
  }

  decided(decision: CallDecision): void {
    this.decision = decision;
  }

  /**
   * Step 6 of the pipeline: commits the request record before the call goes downstream. Null: go ahead (also
   * when the write failed and the organization fails open). A refusal: the call must not be made.
   */
  async open(): Promise<CallAuditRefusal | null> {
    try {
      const lowering = this.auditor.opening(this);
      if (lowering) await lowering;
      await this.auditor.writer.write({ records: [{ ...this.requestRecord(), instanceId: this.auditor.instanceId }], closed: [] });
      this.auditor.opened(this);
      return null;
    } catch (error) {
      // Failed, or committed unbeknown to us: it may be open in the database, for reconciliation to end.
      this.auditor.unsettled(this);
      const refusal = this.auditor.requestFailed(this.start.organizationId, this.settings, error);
      this.requestUnwritten = refusal === null;
      return refusal;
    }
  }

  /** A call refused before forwarding: its request and outcome records in one statement. Never throws. */
  async refuse(outcome: CallAuditOutcome, fields: CallOutcomeFields = {}): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await this.auditor.writer.write({ records: [this.requestRecord(), this.outcomeRecord(outcome, fields)], closed: [] });
    } catch (error) {
      this.auditor.outcomeFailed(this.start.organizationId, this.callId, error);
    }
  }

  /** The outcome of an opened call. Written after the result is on its way; a failure is logged, never returned. */
  close(outcome: CallAuditOutcome, fields: CallOutcomeFields = {}): void {
    if (this.ended) return;
    this.ended = true;
    const latencyMs = performance.now() - this.started;
    // Built on the next turn: sizing and redacting a result must not delay the reply that carries it.
    setImmediate(() =>
      this.auditor.closed(this, () => [...(this.requestUnwritten ? [this.requestRecord(true)] : []), this.outcomeRecord(outcome, fields, latencyMs)]),
    );
  }

  /** `late`: written with the outcome, after the call went ahead without it (fail-open). */
  private requestRecord(late = false): AuditAppend {
    const { start } = this;
    const args = this.auditor.redactor.arguments(start.arguments, this.settings, start.redactPaths);
    return this.record(CALL_REQUEST_KIND, this.requestEventId, this.startedAt, null, {
      ...(args === undefined ? {} : { arguments: args }),
      ...(start.approvalId ? { approvalId: start.approvalId } : {}),
      ...(start.workflow ? { workflowRunId: start.workflow.runId, workflowStep: start.workflow.step } : {}),
      ...(start.endpoint ? { endpoint: start.endpoint } : {}),
      ...(late ? { recordedAfterCall: true } : {}),
    });
  }

  private outcomeRecord(outcome: CallAuditOutcome, fields: CallOutcomeFields, latencyMs = performance.now() - this.started): AuditAppend {
    const { decision } = this;
    const approvalId = fields.approvalId ?? this.start.approvalId;
    const kept = fields.result ? this.auditor.redactor.result(fields.result, this.settings) : undefined;
    return this.record(CALL_OUTCOME_KIND, auditId(), new Date(), outcome, {
      outcome,
      ...(decision ? { decision: decision.effect, rule: decision.rule } : {}),
      ...(approvalId ? { approvalId } : {}),
      ...(fields.costMicros === undefined ? {} : { costMicros: Number(fields.costMicros), costUsd: Number(fields.costMicros) / 1_000_000 }),
      latencyMs: Math.round(latencyMs * 1000) / 1000,
      ...(fields.result ? { resultBytes: Buffer.byteLength(JSON.stringify(fields.result)) } : {}),
      ...(fields.error ? { error: fields.error } : {}),
      ...(fields.limit ? { limit: fields.limit } : {}),
      ...(kept ? { result: kept.result, ...(kept.truncated ? { truncated: true, resultOriginalBytes: kept.resultBytes } : {}) } : {}),
    });
  }

  private record(kind: string, eventId: string, at: Date, outcome: string | null, data: Record<string, unknown>): AuditAppend {
    const { start } = this;
    return {
      organizationId: start.organizationId,
      eventId,
      occurredAt: at,
      kind,
      actor: { ...start.actor } as AuditJson,
      target: { ...start.target } as AuditJson,
      outcome,
      traceId: start.traceId ?? null,
      data: data as AuditJson,
      callId: this.callId,
    };
  }
}

// The audit of every tools/call (DESIGN.md steps 6 and 8): fail closed or open per organization, group-committed
// writes, and at shutdown the calls still running recorded as interrupted by this process itself.
@Injectable()
export class CallAuditor implements BeforeApplicationShutdown {
  private readonly logger = new Logger(CallAuditor.name);
  private readonly open = new Set<CallAudit>();
  private stopped = false;

  readonly writeFailures = new Counter({
    name: 'gatehouse_audit_write_failures_total',
    help: 'tools/call audit records that could not be written, by record (request, outcome) and the fail mode that applied',
    labelNames: ['organization', 'record', 'fail_mode'] as const,
    registers: [],
  });

  constructor(
    readonly writer: CallAuditWriter,
    readonly redactor: AuditRedactor,
    private readonly settings: AuditSettingsService,
    private readonly instance: AuditInstance,
    private readonly repository: AuditCallRepository,
    metrics: MetricsRegistry,
  ) {
    metrics.registerMetric(this.writeFailures);
  }

  get instanceId(): string {
    return this.instance.id;
  }

  async begin(start: CallAuditStart): Promise<CallAudit> {
    const settings = await this.settings.forOrganization(start.organizationId).catch((error: unknown) => {
      // Without its settings the call cannot know its fail mode, so it gets the strict default.
      this.logger.error({ err: error, organizationId: start.organizationId }, 'Could not load audit settings; auditing this call with the defaults');
      return { ...DEFAULT_AUDIT_SETTINGS, configManaged: false };
    });
    return new CallAudit(this, start, settings);
  }

  /** @internal The request record of a call failed. */
  requestFailed(organizationId: string, settings: AuditSettings, error: unknown): CallAuditRefusal | null {
    const errorId = randomUUID();
    this.writeFailures.inc({ organization: organizationId, record: 'request', fail_mode: settings.failMode });
    if (settings.failMode === 'open') {
      this.logger.error({ err: error, errorId, organizationId }, 'Could not write a tools/call request record; the organization fails open, so the call goes ahead');
      return null;
    }
    this.logger.error({ err: error, errorId, organizationId }, 'Could not write a tools/call request record; the call was refused');
    return {
      errorId,
      message:
        `Gatehouse could not write the audit record for this call, so it was not made (error id ${errorId}); ` +
        'try again or ask an administrator to check the audit store.',
    };
  }

  /** @internal */
  outcomeFailed(organizationId: string, callId: string, error: unknown): void {
    this.writeFailures.inc({ organization: organizationId, record: 'outcome', fail_mode: 'n/a' });
    this.logger.error({ err: error, organizationId, callId }, 'Could not write a tools/call outcome record');
  }

  /** @internal Before its request record is written; null when there is nothing to wait for. */
  opening(audit: CallAudit): Promise<void> | null {
    return this.instance.opening(audit);
  }

  /** @internal */
  opened(audit: CallAudit): void {
    this.open.add(audit);
  }

  /** @internal The call has its outcome record. */
  settled(audit: CallAudit): void {
    this.instance.end(audit);
  }

  /** @internal The call may have a request record and will get no outcome from this process. */
  unsettled(audit: CallAudit): void {
    this.instance.end(audit);
    this.instance.leaveOpen(audit);
  }

  /** @internal Writes an opened call's outcome (with a request written late), in one statement. */
  closed(audit: CallAudit, build: () => AuditAppend[]): void {
    const wasOpen = this.open.delete(audit);
    // After shutdown recorded it as interrupted, a late outcome would be a second one.
    if (this.stopped && wasOpen) return this.settled(audit);
    let records: AuditAppend[];
    try {
      records = build();
    } catch (error) {
      this.outcomeFailed(audit.organizationId, audit.callId, error);
      return this.unsettled(audit);
    }
    this.writer.writeSoon({ records, closed: wasOpen ? [audit.callId] : [] }).then(
      () => this.settled(audit),
      (error: unknown) => {
        this.outcomeFailed(audit.organizationId, audit.callId, error);
        this.unsettled(audit);
      },
    );
  }

  // Runs after the HTTP server drained and sessions closed (which aborts the calls still running), before the
  // database pool closes.
  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + SHUTDOWN_SETTLE_MS;
    while (this.open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setImmediate(resolve));
    this.stopped = true;
    await this.writer.idle();
    try {
      await this.instance.stopBeating();
      const ended = await this.repository.interrupt([this.instance.id], new Date(), this.instance.openSince());
      if (ended > 0) this.logger.warn({ calls: ended }, 'Recorded tools/calls still running at shutdown as interrupted');
      await this.instance.stop();
    } catch (error) {
      // The heartbeat lapses on its own; another replica or the next start records these calls.
      this.logger.error({ err: error }, 'Could not record the calls still running at shutdown');
    }
  }
}
