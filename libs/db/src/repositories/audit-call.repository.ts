import { Injectable } from '@nestjs/common';
import { DatabaseError } from 'pg';
import { PrismaService } from '../prisma.service';
import { SqlPool } from '../sql-pool.service';
import { AUDIT_APPEND, auditAppendDocument, AuditCallBatch, SUPERSEDED_SQLSTATE } from './audit-append';

// An outcome whose open-call row is already gone was recorded `interrupted` by another replica while this one was
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

  /** One statement: the records chained, the open calls they begin and end. Resolved: committed. */
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

  /** The processes that have calls without an outcome. */
  async openCallInstances(): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ instance_id: string }[]>`SELECT DISTINCT instance_id FROM audit_open_calls`;
    return rows.map((row) => row.instance_id);
  }

  /**
   * Ends the open calls of processes that cannot finish them (they died, or are shutting down): an outcome record
   * `interrupted` per call, in the statement that deletes its open-call row. Two replicas doing this at once
   * write each outcome once: the second DELETE finds the rows gone. Returns the number of calls ended.
   */
  async interrupt(instanceIds: string[], at: Date): Promise<number> {
    if (instanceIds.length === 0) return 0;
    return this.prisma.$executeRaw`
      WITH ended AS (
        DELETE FROM audit_open_calls WHERE instance_id = ANY(${instanceIds}::text[]) RETURNING *
      )
      INSERT INTO audit_records (organization_id, event_id, occurred_at, kind, actor, target, outcome, trace_id, data, call_id)
      SELECT organization_id, gen_random_uuid(), ${at}::timestamp(3), 'tools.call.outcome', actor, target, 'interrupted', trace_id,
        jsonb_build_object('outcome', 'interrupted', 'requestEventId', request_event_id::text,
          'error', 'the gateway process ended before the call finished'),
        call_id
      FROM ended ORDER BY started_at`;
  }
}
