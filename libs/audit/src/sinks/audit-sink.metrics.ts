import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { AuditSinkRepository, AuditSinkView, MetricsRegistry } from '@gatehouse/db';

// Lag and dead-letter state are read from PostgreSQL at scrape time, so every gateway reports them whichever
// process delivers. Delivered and failure counts are counted by the process that delivers.
@Injectable()
export class AuditSinkMetrics {
  private readonly logger = new Logger(AuditSinkMetrics.name);
  private snapshot: { at: number; sinks: Promise<AuditSinkView[]> } | null = null;

  readonly delivered = new Counter({
    name: 'gatehouse_audit_sink_delivered_total',
    help: 'Audit events delivered to SIEM sinks (re-deliveries included)',
    labelNames: ['organization', 'sink'] as const,
    registers: [],
  });

  readonly failures = new Counter({
    name: 'gatehouse_audit_sink_failures_total',
    help: 'Failed delivery attempts to SIEM sinks',
    labelNames: ['organization', 'sink'] as const,
    registers: [],
  });

  readonly lag = new Gauge({
    name: 'gatehouse_audit_sink_lag_records',
    help: "Chained audit records not yet delivered to the sink (chain head seq minus the sink's cursor)",
    labelNames: ['organization', 'sink'] as const,
    registers: [],
    collect: () => this.collect(),
  });

  readonly deadLetter = new Gauge({
    name: 'gatehouse_audit_sink_dead_letter',
    help: '1 when the sink stopped after repeated failures and waits for POST /api/v1/audit/sinks/:id/retry',
    labelNames: ['organization', 'sink'] as const,
    registers: [],
    collect: () => this.collect(),
  });

  constructor(
    registry: MetricsRegistry,
    private readonly sinks: AuditSinkRepository,
  ) {
    for (const metric of [this.delivered, this.failures, this.lag, this.deadLetter]) registry.registerMetric(metric);
  }

  // Both gauges are filled from one query per scrape.
  private async collect(): Promise<void> {
    if (!this.snapshot || Date.now() - this.snapshot.at > 1_000) this.snapshot = { at: Date.now(), sinks: this.sinks.listAll() };
    try {
      const sinks = await this.snapshot.sinks;
      this.lag.reset();
      this.deadLetter.reset();
      for (const sink of sinks) {
        const labels = { organization: sink.organizationId, sink: sink.name };
        this.lag.set(labels, Number(sink.lag));
        this.deadLetter.set(labels, sink.state === 'dead_letter' ? 1 : 0);
      }
    } catch (error) {
      this.snapshot = null;
      this.logger.warn({ err: error }, 'Could not read audit sinks for /metrics');
    }
  }
}
