import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
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

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

// The audit writes of tools/call, which sit on every call's path: one statement per batch, column arrays
// throughout (unnest), and the open-call bookkeeping in the same statement as the records, so a record and its
// open-call row are committed together or not at all.
@Injectable()
export class AuditCallRepository {
  constructor(private readonly prisma: PrismaService) {}

  async write(batch: AuditCallBatch): Promise<void> {
    const { records, opened, closed } = batch;
    const column = <T, R>(rows: T[], pick: (row: T) => R) => rows.map(pick);
    // Data-modifying CTEs all run, referenced or not; within one statement they cannot see each other's rows,
    // which is fine: a call's outcome is only written after its request was committed.
    await this.prisma.$executeRaw`
      WITH recorded AS (
        INSERT INTO audit_records (organization_id, event_id, occurred_at, kind, actor, target, outcome, trace_id, data, call_id)
        SELECT r.organization_id, r.event_id, r.occurred_at, r.kind, r.actor::jsonb, r.target::jsonb, r.outcome, r.trace_id, r.data::jsonb, r.call_id
        FROM unnest(
          ${column(records, (r) => r.organizationId)}::uuid[],
          ${column(records, (r) => r.eventId)}::uuid[],
          ${column(records, (r) => r.occurredAt)}::timestamp(3)[],
          ${column(records, (r) => r.kind)}::text[],
          ${column(records, (r) => json(r.actor))}::text[],
          ${column(records, (r) => json(r.target))}::text[],
          ${column(records, (r) => r.outcome)}::text[],
          ${column(records, (r) => r.traceId)}::text[],
          ${column(records, (r) => json(r.data))}::text[],
          ${column(records, (r) => r.callId)}::uuid[]
        ) WITH ORDINALITY AS r(organization_id, event_id, occurred_at, kind, actor, target, outcome, trace_id, data, call_id, n)
        ORDER BY r.n
        RETURNING 1
      ), opened AS (
        INSERT INTO audit_open_calls (call_id, organization_id, instance_id, request_event_id, actor, target, trace_id, started_at)
        SELECT o.call_id, o.organization_id, o.instance_id, o.request_event_id, o.actor::jsonb, o.target::jsonb, o.trace_id, o.started_at
        FROM unnest(
          ${column(opened, (o) => o.callId)}::uuid[],
          ${column(opened, (o) => o.organizationId)}::uuid[],
          ${column(opened, (o) => o.instanceId)}::text[],
          ${column(opened, (o) => o.requestEventId)}::uuid[],
          ${column(opened, (o) => json(o.actor))}::text[],
          ${column(opened, (o) => json(o.target))}::text[],
          ${column(opened, (o) => o.traceId)}::text[],
          ${column(opened, (o) => o.startedAt)}::timestamp(3)[]
        ) AS o(call_id, organization_id, instance_id, request_event_id, actor, target, trace_id, started_at)
        RETURNING 1
      ), closed AS (
        DELETE FROM audit_open_calls WHERE call_id = ANY(${closed}::uuid[]) RETURNING 1
      )
      SELECT (SELECT count(*) FROM recorded) + (SELECT count(*) FROM opened) + (SELECT count(*) FROM closed)`;
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
