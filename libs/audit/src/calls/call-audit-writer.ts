import { Injectable } from '@nestjs/common';
import { AuditCallBatch, AuditCallRepository } from '@gatehouse/db';
import { AuditLog } from '../record/audit-log';

interface Pending {
  batch: AuditCallBatch;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// Group commit: one statement in flight at a time; whatever arrives meanwhile is written by the next one, as
// one multi-row statement. Under load a call waits for at most one statement before its own, and the database
// sees one commit per batch instead of one per call. Each caller's promise settles with the statement that
// carried its rows: resolved means committed (the fail-closed guarantee).
class GroupCommit {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly repository: AuditCallRepository,
    private readonly written: () => void,
  ) {}

  write(batch: AuditCallBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

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
        this.written();
      } catch (error) {
        // All or nothing: one statement, one transaction. Each caller decides what a failure means for it.
        pending.forEach((item) => item.reject(error));
      }
    }
    this.flushing = null;
  }
}

// The tools/call records. A call waits for its request record before going downstream, and nobody waits for
// an outcome record, so the two kinds have a group commit each and their statements run side by side: a
// request never queues behind the outcome of the call before it. An outcome is written only once its own
// request was committed, so the lanes never reorder one call's records.
@Injectable()
export class CallAuditWriter {
  private readonly requests: GroupCommit;
  private readonly outcomes: GroupCommit;

  constructor(repository: AuditCallRepository, log: AuditLog) {
    const written = () => log.requestChaining();
    this.requests = new GroupCommit(repository, written);
    this.outcomes = new GroupCommit(repository, written);
  }

  /** Opening rows (request records the call waits for) go on the request lane; everything else on the other. */
  write(batch: AuditCallBatch): Promise<void> {
    return (batch.opened.length > 0 ? this.requests : this.outcomes).write(batch);
  }

  /** Resolves once everything queued so far is written (or has failed). */
  async idle(): Promise<void> {
    await Promise.all([this.requests.idle(), this.outcomes.idle()]);
  }
}
