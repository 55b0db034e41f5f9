import { canonicalJson, storableText } from '@gatehouse/config';
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

/** A tools/call record. `instanceId`, on a request record, opens the call: the gateway process that writes its outcome. */
export interface AuditCallRecord extends AuditAppend {
  instanceId?: string;
}

/** What one statement writes: records, and the calls whose outcome is among them. */
export interface AuditCallBatch {
  records: AuditCallRecord[];
  /** Call ids whose outcome is in `records`, of calls opened by a request record of theirs. */
  closed: string[];
}

// Every audit record is appended by this one statement: gatehouse_audit_append (prisma/migrations/…_audit_chain_on_append)
// takes each organization's chain lock, reads its head and inserts the records chained (seq, prev_hash, hash computed
// from auditChainText), refusing an outcome of a call that has one already. One round trip, no later UPDATE. Prepared
// once per connection.
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
      return { o: record.organizationId, p: prefix, s: suffix, i: record.instanceId };
    }),
    closed: batch.closed,
    superseding,
  };
  return JSON.stringify(doc);
}
