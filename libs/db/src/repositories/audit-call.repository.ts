import { Injectable } from '@nestjs/common';
import { storableText } from '@gatehouse/config';
import { PrismaService } from '../prisma.service';
import { PreparedSql, SqlPool, sqlTimestamp } from '../sql-pool.service';
import type { AuditAppend } from './audit.repository';

/** A tools/call whose request record is written and whose outcome is not (yet). */
export interface AuditOpenCallRow {
  callId: string;
  organizationId: string;
  /** The gateway process making the call: its heartbeat in Redis says whether it still can finish it. */
  instanceId: string;
  requestEventId: string;
  actor: AuditAppend['actor'];
  target: AuditAppend['target'];
  traceId: string | null;
  startedAt: Date;
}

/** What one statement writes: records, the open calls they begin, and the open calls they end. */
export interface AuditCallBatch {
  records: AuditAppend[];
  opened: AuditOpenCallRow[];
  /** Call ids whose outcome is in `records`. */
  closed: string[];
}

// The audit writes of tools/call, which sit on every call's path: one statement per batch, the whole batch as
// one JSON parameter (JSON.stringify is native; encoding column arrays cost more CPU than the rest of the call),
// and the open-call bookkeeping in the same statement as the records, so a record and its open-call row are
// committed together or not at all. An outcome whose open-call row is already gone was recorded `interrupted`
// by another replica while this one was alive but unheard (its Redis heartbeat lapsed): it is still written,
// as the call's real outcome, marked supersedesInterrupted. Prepared once per connection.
const WRITE: PreparedSql = {
  name: 'audit-call-write',
  text: `
  WITH batch AS (SELECT $1::jsonb AS doc, ARRAY(SELECT jsonb_array_elements_text($1::jsonb->'closed')::uuid) AS closing),
  closed AS (
    DELETE FROM audit_open_calls WHERE call_id = ANY ((SELECT closing FROM batch)::uuid[]) RETURNING call_id
  ), recorded AS (
    INSERT INTO audit_records (organization_id, event_id, occurred_at, kind, actor, target, outcome, trace_id, data, call_id)
    SELECT r.organization_id, r.event_id, r.occurred_at, r.kind, r.actor, r.target, r.outcome, r.trace_id,
      CASE WHEN r.kind = 'tools.call.outcome' AND r.call_id = ANY (batch.closing) AND r.call_id NOT IN (SELECT call_id FROM closed)
        THEN r.data || '{"supersedesInterrupted": true}'::jsonb ELSE r.data END,
      r.call_id
    FROM batch, ROWS FROM (jsonb_to_recordset(batch.doc->'records') AS (organization_id uuid, event_id uuid, occurred_at timestamp(3),
      kind text, actor jsonb, target jsonb, outcome text, trace_id text, data jsonb, call_id uuid)) WITH ORDINALITY AS r
    ORDER BY r.ordinality
  ), opened AS (
    INSERT INTO audit_open_calls (call_id, organization_id, instance_id, request_event_id, actor, target, trace_id, started_at)
    SELECT o.call_id, o.organization_id, o.instance_id, o.request_event_id, o.actor, o.target, o.trace_id, o.started_at
    FROM batch, jsonb_to_recordset(batch.doc->'opened') AS o(call_id uuid, organization_id uuid, instance_id text,
      request_event_id uuid, actor jsonb, target jsonb, trace_id text, started_at timestamp(3))
  )
  -- A data-modifying WITH runs once and to completion whether or not the query reads it.
  SELECT 1`,
};

// jsonb cannot hold U+0000 or an unpaired surrogate (which JSON.stringify writes as an escape): one result
// carrying either would fail the whole batch, refusing every call in it. Requests are refused such text at the edge;
// a downstream's result is kept, with the offending characters replaced.
const storable = (_key: string, value: unknown) => (typeof value === 'string' ? storableText(value) : value);

function serialize(doc: unknown): string {
  const text = JSON.stringify(doc);
  return /\\u0000|\\ud[89a-f]/i.test(text) ? JSON.stringify(doc, storable) : text;
}

@Injectable()
export class AuditCallRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly sql: SqlPool,
  ) {}

  async write(batch: AuditCallBatch): Promise<void> {
    const doc = {
      records: batch.records.map((r) => ({
        organization_id: r.organizationId,
        event_id: r.eventId,
        occurred_at: sqlTimestamp(r.occurredAt),
        kind: r.kind,
        actor: r.actor,
        target: r.target,
        outcome: r.outcome,
        trace_id: r.traceId,
        data: r.data,
        call_id: r.callId,
      })),
      opened: batch.opened.map((o) => ({
        call_id: o.callId,
        organization_id: o.organizationId,
        instance_id: o.instanceId,
        request_event_id: o.requestEventId,
        actor: o.actor,
        target: o.target,
        trace_id: o.traceId,
        started_at: sqlTimestamp(o.startedAt),
      })),
      closed: batch.closed,
    };
    await this.sql.query(WRITE, [serialize(doc)]);
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
