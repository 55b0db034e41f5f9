import { Injectable } from '@nestjs/common';
import { DatabaseError } from 'pg';
import { PrismaService } from '../prisma.service';
import { SqlPool } from '../sql-pool.service';
import { AUDIT_APPEND, auditAppendDocument, AuditCallBatch, SUPERSEDED_SQLSTATE } from './audit-append';

// An outcome of a call that has an outcome record already was recorded `interrupted` by another replica while this one was
// alive but unheard (its Redis heartbeat lapsed): it is still written, as the call's real outcome, marked
// supersedesInterrupted. The database says which (before writing anything); the batch is then written again with them marked.
const supersededCalls = (error: unknown): string[] | null =>
  error instanceof DatabaseError && error.code === SUPERSEDED_SQLSTATE && error.detail ? error.detail.split(',') : null;

@Injectable()
export class AuditCallRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly sql: SqlPool,
  ) {}

  /** One statement: the records chained. Resolved: committed. */
  async write(batch: AuditCallBatch): Promise<void> {
    try {
      await this.sql.query(AUDIT_APPEND, [auditAppendDocument(batch)]);
    } catch (error) {
      const superseded = supersededCalls(error);
      if (!superseded) throw error;
      const marked = new Set(superseded);
      const records = batch.records.map((record) =>
        record.kind === 'tools.call.outcome' && record.callId !== null && marked.has(record.callId)
          ? { ...record, data: { ...(record.data as Record<string, unknown>), supersedesInterrupted: true } }
          : record,
      );
      await this.sql.query(AUDIT_APPEND, [auditAppendDocument({ ...batch, records }, superseded)]);
    }
  }

  /**
   * This process's row: it runs tools/calls, the oldest of which that may still lack an outcome record started at
   * `openSince`. Reconciliation reads its requests from there on once its heartbeat lapses.
   */
  async registerInstance(id: string, openSince: Date): Promise<void> {
    await this.prisma.auditInstance.upsert({ where: { id }, create: { id, openSince }, update: { openSince } });
  }

  /** Moves this process's open_since back to `openSince` if it is later (the row is written if it is gone). */
  async lowerInstance(id: string, openSince: Date): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO audit_instances (id, open_since) VALUES (${id}, ${openSince}::timestamp(3))
      ON CONFLICT (id) DO UPDATE SET open_since = LEAST(audit_instances.open_since, excluded.open_since)`;
  }

  /** The processes that run, or ran, tools/calls and have not been reconciled. */
  async instances(): Promise<string[]> {
    const rows = await this.prisma.auditInstance.findMany({ select: { id: true } });
    return rows.map((row) => row.id);
  }

  /**
   * Ends the calls of processes that cannot finish them (they died, or are shutting down): an outcome record
   * `interrupted` per call without one, under the chain locks the appends take, so that each call gets one outcome;
   * the processes' rows go (gatehouse_audit_interrupt). `openSince`: where a process ending its own calls knows they
   * start, in case its row is gone. Returns the number of calls ended.
   */
  async interrupt(instanceIds: string[], at: Date, openSince: Date | null = null): Promise<number> {
    if (instanceIds.length === 0) return 0;
    const [row] = await this.prisma.$queryRaw<{ ended: number }[]>`
      SELECT gatehouse_audit_interrupt(${instanceIds}::text[], ${at}::timestamp(3), ${openSince}::timestamp(3)) AS ended`;
    return row?.ended ?? 0;
  }
}
