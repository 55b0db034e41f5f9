import { canonicalJson, storableText } from '@gatehouse/config';
import { sqlTimestamp } from '../sql-pool.service';
import type { AuditAppend } from './audit.repository';

/**
 * A record's hashed form split around its seq: the hash of the record at `seq` after `prevHash` is
 * SHA-256 hex of `${prevHash}\n${prefix}${seq}${suffix}`. The database computes it when it appends (the record's
 * seq is known only under the organization's chain lock there); verification computes it here. The text is the
 * canonical JSON (sorted keys, no whitespace) of the record's hashed fields, in which seq is a decimal string.
 */
export interface AuditChainText {
  prefix: string;
  suffix: string;
}

// Written out in canonical key order (actor, callId, data, eventId, kind, occurredAt, organizationId, outcome, seq,
// target, traceId) rather than sorted per record: the top-level keys are fixed, only the values vary. callId is left
// out when null, so records other than a tools/call's keep the form they had before it existed.
export function auditChainText(record: AuditAppend): AuditChainText {
  const callId = record.callId === null || record.callId === undefined ? '' : `"callId":${JSON.stringify(record.callId)},`;
  return {
    prefix:
      `{"actor":${canonicalJson(record.actor)},${callId}"data":${canonicalJson(record.data)},"eventId":${JSON.stringify(record.eventId)},` +
      `"kind":${JSON.stringify(record.kind)},"occurredAt":${JSON.stringify(record.occurredAt.toISOString())},` +
      `"organizationId":${JSON.stringify(record.organizationId)},"outcome":${canonicalJson(record.outcome ?? null)},"seq":"`,
    suffix: `","target":${canonicalJson(record.target ?? null)},"traceId":${canonicalJson(record.traceId ?? null)}}`,
  };
}

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

// Every audit record is appended by this one statement: gatehouse_audit_append (prisma/migrations/…_audit_chain_on_append)
// takes each organization's chain lock, reads its head and inserts the records chained (seq, prev_hash, hash computed
// from auditChainText), with the open-call bookkeeping of tools/call in the same transaction. One round trip, no
// later UPDATE. Prepared once per connection.
export const AUDIT_APPEND: { name: string; text: string } = { name: 'audit-append', text: 'SELECT gatehouse_audit_append($1::jsonb)' };

/** Raised by gatehouse_audit_append for outcomes of calls another replica recorded as interrupted (their ids in DETAIL). */
export const SUPERSEDED_SQLSTATE = 'GHA01';

// jsonb cannot hold U+0000 or an unpaired surrogate (which JSON.stringify writes as an escape): one record carrying
// either would fail the whole batch, refusing every call in it. Requests are refused such text at the edge; a
// downstream's result is kept, with the offending characters replaced, before it is hashed.
const UNSTORABLE = /\\u0000|\\ud[89a-f]/i;
const storable = (_key: string, value: unknown) => (typeof value === 'string' ? storableText(value) : value);
const storableJson = <T>(value: T): T => (value === null || value === undefined ? value : (JSON.parse(JSON.stringify(value, storable)) as T));

function chainText(record: AuditAppend): AuditChainText {
  const text = auditChainText(record);
  if (!UNSTORABLE.test(text.prefix) && !UNSTORABLE.test(text.suffix)) return text;
  return auditChainText({
    ...record,
    actor: storableJson(record.actor),
    target: storableJson(record.target),
    data: storableJson(record.data),
    traceId: record.traceId === null ? null : storableText(record.traceId),
  });
}

/** The statement's one parameter. `superseding`: outcomes already marked supersedesInterrupted. */
export function auditAppendDocument(batch: AuditCallBatch, superseding: readonly string[] = []): string {
  const doc = {
    records: batch.records.map((record) => {
      const { prefix, suffix } = chainText(record);
      return { o: record.organizationId, p: prefix, s: suffix };
    }),
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
    superseding,
  };
  // One check for the open-call rows (the records' texts are storable already, and the replacer leaves them so).
  const text = JSON.stringify(doc);
  return UNSTORABLE.test(text) ? JSON.stringify(doc, storable) : text;
}
