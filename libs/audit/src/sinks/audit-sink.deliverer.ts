import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository, AuditSinkRepository, AuditSinkTarget } from '@gatehouse/db';
import { DEFAULT_RETRY_POLICY, DeliverAuditSinkJob, RUN_BUDGET_MS, SinkRetryPolicy } from './audit-sink.job';
import { AuditSinkMetrics } from './audit-sink.metrics';
import { AuditSinkQueue } from './audit-sink.queue';
import { SinkBatch, sinkEvent } from './sink-event';
import { SinkTransports } from './transports/sink-transports';

const MAX_ERROR_LENGTH = 500;

/**
 * Delivers a sink's chained records in seq order from its cursor, batch by batch, moving the cursor in
 * PostgreSQL only after the receiver took a batch: at-least-once, and nothing skipped across restarts.
 */
@Injectable()
export class AuditSinkDeliverer {
  private readonly logger = new Logger(AuditSinkDeliverer.name);
  // Replaceable so end-to-end tests can reach the dead-letter state in seconds rather than minutes.
  retryPolicy: SinkRetryPolicy = DEFAULT_RETRY_POLICY;

  constructor(
    private readonly sinks: AuditSinkRepository,
    private readonly records: AuditRepository,
    private readonly transports: SinkTransports,
    private readonly metrics: AuditSinkMetrics,
    private readonly queue: AuditSinkQueue,
  ) {}

  /** One run. Returns in how many ms the sink wants another run (backoff, or a yielded backlog), or null. */
  async run({ organizationId, sinkId }: DeliverAuditSinkJob): Promise<number | null> {
    const sink = await this.sinks.forDelivery(organizationId, sinkId);
    if (!sink || !sink.enabled || sink.state !== 'active') {
      // A removed or disabled sink keeps no connection open.
      if (!sink?.enabled) this.transports.drop(sinkId);
      return null;
    }
    // The backoff lives on the row, so a sweep or a restart does not retry sooner than it should.
    if (sink.failures > 0 && sink.lastAttemptAt) {
      const wait = sink.lastAttemptAt.getTime() + this.retryPolicy.delayMs(sink.failures) - Date.now();
      if (wait > 0) return wait;
    }
    const transport = this.transports.for(sink, (afterSeq) => this.doubt(sink, afterSeq));
    const labels = { organization: organizationId, sink: sink.name };
    const started = Date.now();
    let cursor = sink.cursor;
    for (;;) {
      if (Date.now() - started > RUN_BUDGET_MS) return 0;
      const records = await this.records.chainedAfter(organizationId, cursor, sink.settings.batchSize);
      if (records.length === 0) return null;
      const events = records.map((record) => sinkEvent(record, sink.format));
      const batch: SinkBatch = { sinkId, firstSeq: events[0]!.seq, lastSeq: events[events.length - 1]!.seq, events };
      try {
        await transport.send(batch);
      } catch (error) {
        return this.failed(sink, error);
      }
      // Another run moved the cursor (or a doubt moved it back): start over from what the row says.
      if (!(await this.sinks.advanceCursor(organizationId, sinkId, cursor, batch.lastSeq, new Date()))) return 0;
      this.metrics.delivered.inc(labels, events.length);
      cursor = batch.lastSeq;
    }
  }

  private async failed(sink: AuditSinkTarget, error: unknown): Promise<number | null> {
    this.transports.drop(sink.id);
    this.metrics.failures.inc({ organization: sink.organizationId, sink: sink.name });
    const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_LENGTH);
    const result = await this.sinks.recordFailure(sink.organizationId, sink.id, message, new Date(), this.retryPolicy.deadLetterAfter);
    if (!result) return null;
    if (result.state === 'dead_letter') {
      this.logger.error({ sink: sink.name, organizationId: sink.organizationId, failures: result.failures }, `Audit sink dead-lettered: ${message}`);
      return null;
    }
    this.logger.warn({ sink: sink.name, organizationId: sink.organizationId, failures: result.failures }, `Audit sink delivery failed: ${message}`);
    return this.retryPolicy.delayMs(result.failures);
  }

  // Records written just before a syslog connection dropped are sent again (see SyslogTransport).
  private doubt(sink: AuditSinkTarget, afterSeq: bigint): void {
    this.sinks
      .rewindCursor(sink.organizationId, sink.id, afterSeq)
      .then(() => this.queue.deliver(sink.organizationId, sink.id))
      .catch((error: unknown) => this.logger.warn({ err: error, sink: sink.name }, 'Could not rewind an audit sink after a dropped connection'));
  }
}
