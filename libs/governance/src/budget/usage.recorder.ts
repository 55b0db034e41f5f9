import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { UsageEntry, UsageRepository, UsageRow } from '@gatehouse/db';

// Rows are written in batches, off the call's path: at most this long after the call, or sooner when many wait.
const FLUSH_MS = 100;
const BATCH = 500;
// A row that could not be written is retried a few times (a second apart), then dropped and logged.
const ATTEMPTS = 5;
const RETRY_MS = 1_000;
const MAX_PENDING = 50_000;

interface Pending {
  entry: UsageRow;
  failures: number;
}

/**
 * Writes the usage records of calls. Budgets are enforced in Redis; these rows are the durable account. The calls of
 * one second that are alike in every column (an agent calling one tool again and again) wait as one row that counts
 * them (`calls`, their summed cost): every report and budget reads sums, and a row per call was most of what
 * PostgreSQL spent on usage.
 */
@Injectable()
export class UsageRecorder implements BeforeApplicationShutdown {
  private readonly logger = new Logger(UsageRecorder.name);
  private pending: Pending[] = [];
  // The rows of `pending` that calls still join, by what they count; emptied when the batch leaves.
  private readonly joinable = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly usage: UsageRepository) {}

  record(entry: UsageEntry): void {
    // Whole seconds: a budget period starts on one, so a call never moves to the period before it.
    const occurredAt = new Date(Math.floor(entry.occurredAt.getTime() / 1000) * 1000);
    const key = JSON.stringify([
      entry.organizationId,
      occurredAt.getTime(),
      entry.connection,
      entry.tool,
      entry.principalSubject,
      entry.userEmail,
      entry.apiKeyId,
      entry.outcome,
      entry.approvalRequestId ?? null,
    ]);
    const row = this.joinable.get(key);
    if (row) {
      row.entry.calls += 1;
      row.entry.costMicros += entry.costMicros;
      return;
    }
    if (this.pending.length >= MAX_PENDING) {
      this.logger.error({ organizationId: entry.organizationId }, 'Too many usage records waiting to be written; dropping one');
      return;
    }
    const pending = { entry: { ...entry, occurredAt, calls: 1 }, failures: 0 };
    this.pending.push(pending);
    this.joinable.set(key, pending);
    if (this.pending.length >= BATCH) void this.flush();
    else this.schedule(FLUSH_MS);
  }

  /** Writes what is waiting; resolves when this replica's rows so far are stored (or failed and were put back). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending.splice(0);
    this.joinable.clear();
    if (batch.length) this.writing = this.writing.then(() => this.write(batch));
    return this.writing;
  }

  // After the in-flight calls have drained (graceful shutdown) and before PostgreSQL disconnects.
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  private async write(batch: Pending[]): Promise<void> {
    if (await this.insert(batch)) return;
    // One organization's rows must not hold back the others' (one that was just deleted refuses them for good).
    const byOrganization = new Map<string, Pending[]>();
    for (const item of batch) {
      const rows = byOrganization.get(item.entry.organizationId);
      if (rows) rows.push(item);
      else byOrganization.set(item.entry.organizationId, [item]);
    }
    for (const [organizationId, rows] of byOrganization) {
      if (byOrganization.size > 1 && (await this.insert(rows))) continue;
      const retried = rows.filter((item) => ++item.failures < ATTEMPTS);
      if (retried.length < rows.length) this.logger.error({ organizationId, rows: rows.length - retried.length }, 'Dropped usage records that could not be written');
      this.pending.unshift(...retried);
    }
    if (this.pending.length) this.schedule(RETRY_MS);
  }

  private async insert(batch: Pending[]): Promise<boolean> {
    try {
      await this.usage.insertMany(batch.map((item) => item.entry));
      return true;
    } catch (error) {
      this.logger.warn({ err: error, rows: batch.length }, 'Could not write usage records');
      return false;
    }
  }

  // Unreferenced: a pending flush never keeps the process alive (shutdown flushes explicitly).
  private schedule(ms: number): void {
    this.timer ??= setTimeout(() => void this.flush(), ms).unref();
  }
}
