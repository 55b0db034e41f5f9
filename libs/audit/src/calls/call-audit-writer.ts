import { Injectable } from '@nestjs/common';
import { AuditCallBatch, AuditCallRepository } from '@gatehouse/db';
import { AuditLog } from '../record/audit-log';

interface Pending {
  batch: AuditCallBatch;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// Group commit for tools/call records. One statement is in flight at a time; whatever arrives meanwhile is
// written by the next one, as one multi-row statement. Under load a call waits for at most one statement
// before its own, and the database sees one commit per batch instead of one per call. Each caller's promise
// settles with the statement that carried its rows: resolved means committed (the fail-closed guarantee).
@Injectable()
export class CallAuditWriter {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly repository: AuditCallRepository,
    private readonly log: AuditLog,
  ) {}

  write(batch: AuditCallBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** Resolves once everything queued so far is written (or has failed). */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const pending = this.queue;
      this.queue = [];
      const batch: AuditCallBatch = {
        records: pending.flatMap((item) => item.batch.records),
        opened: pending.flatMap((item) => item.batch.opened),
        closed: pending.flatMap((item) => item.batch.closed),
      };
      try {
        await this.repository.write(batch);
        pending.forEach((item) => item.resolve());
        this.log.requestChaining();
      } catch (error) {
        // All or nothing: one statement, one transaction. Each caller decides what a failure means for it.
        pending.forEach((item) => item.reject(error));
      }
    }
    this.flushing = null;
  }
}
