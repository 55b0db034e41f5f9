import { Injectable } from '@nestjs/common';
import { AuditCallBatch, AuditCallRepository } from '@gatehouse/db';
import { AuditLog } from '../record/audit-log';

interface Pending {
  batch: AuditCallBatch;
  /** Somebody waits for it (a request record before its call goes downstream). */
  urgent: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// How long an outcome record may wait for a request record to share its statement.
const OUTCOME_DELAY_MS = 20;

const merged = (pending: readonly Pending[]): AuditCallBatch => ({
  records: pending.flatMap((item) => item.batch.records),
  closed: pending.flatMap((item) => item.batch.closed),
});

// The tools/call records, by group commit: one statement in flight at a time, and whatever arrives meanwhile is
// written by the next one, as one statement (one transaction, one commit). Each caller's promise settles with the
// statement that carried its rows: resolved means committed (the fail-closed guarantee). A call waits for its request
// record and nobody waits for an outcome, so outcomes wait up to OUTCOME_DELAY_MS for the next request record and
// go with it: a client calling one tool after another costs one statement per call, and under load every statement
// carries the outcomes of the calls before it. An outcome is queued only once its own request was committed, so one
// call's records are never reordered.
@Injectable()
export class CallAuditWriter {
  private queue: Pending[] = [];
  private urgent = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repository: AuditCallRepository,
    private readonly log: AuditLog,
  ) {}

  /** Written now (or with the statement after the one in flight). */
  write(batch: AuditCallBatch): Promise<void> {
    return this.enqueue(batch, true);
  }

  /** Written with the next request record, or within OUTCOME_DELAY_MS. */
  writeSoon(batch: AuditCallBatch): Promise<void> {
    return this.enqueue(batch, false);
  }

  /** Resolves once everything queued so far is written (or has failed). */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (!this.flushing) this.start();
      await this.flushing;
    }
  }

  private enqueue(batch: AuditCallBatch, urgent: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ batch, urgent, resolve, reject });
      if (urgent) this.urgent += 1;
      if (this.flushing) return; // the statement after the one in flight takes it
      if (urgent) this.start();
      else this.timer ??= setTimeout(() => this.flushing ?? this.start(), OUTCOME_DELAY_MS).unref();
    });
  }

  private start(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flushing = this.drain();
  }

  private async drain(): Promise<void> {
    do {
      const pending = this.queue;
      this.queue = [];
      this.urgent = 0;
      await this.writeAll(pending);
    } while (this.urgent > 0);
    this.flushing = null;
    // Only outcomes arrived meanwhile: they wait for the next request record.
    if (this.queue.length > 0) this.timer ??= setTimeout(() => this.flushing ?? this.start(), OUTCOME_DELAY_MS).unref();
  }

  private async writeAll(pending: Pending[]): Promise<void> {
    try {
      await this.repository.write(merged(pending));
      pending.forEach((item) => item.resolve());
      this.log.requestChaining();
    } catch (error) {
      // All or nothing: one statement, one transaction. A request record must not be refused for an outcome's sake
      // (or the reverse): a statement that carried both is tried again as two.
      const requests = pending.filter((item) => item.urgent);
      const outcomes = pending.filter((item) => !item.urgent);
      if (requests.length === 0 || outcomes.length === 0) {
        pending.forEach((item) => item.reject(error));
        return;
      }
      await this.writeAll(requests);
      await this.writeAll(outcomes);
    }
  }
}
