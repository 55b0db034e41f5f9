import { AuditSinkFormatName, GATEHOUSE_VERSION } from '@gatehouse/config';
import type { StoredAuditRecord } from '@gatehouse/db';
import { toOcsf } from '../ocsf/ocsf';
import { auditEvent } from '../record/audit-event';

/** One chained record, serialized once in the sink's format; transports only frame it. */
export interface SinkEvent {
  eventId: string;
  seq: bigint;
  occurredAt: Date;
  kind: string;
  outcome: string | null;
  /** The event as JSON (ASCII only): native AuditEvent or OCSF API Activity. */
  json: string;
}

/** Consecutive chained records of one sink: firstSeq..lastSeq. */
export interface SinkBatch {
  sinkId: string;
  firstSeq: bigint;
  lastSeq: bigint;
  events: SinkEvent[];
}

// Non-ASCII escaped as \uXXXX: the JSON means the same, and a syslog MSG that is pure ASCII needs no BOM
// (RFC 5424 §6.4 requires one before UTF-8), so every transport can send the very same bytes.
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sinkEventBody(record: StoredAuditRecord, format: AuditSinkFormatName): unknown {
  const event = auditEvent(record);
  return format === 'ocsf' ? toOcsf(event, GATEHOUSE_VERSION) : event;
}

export function sinkEvent(record: StoredAuditRecord, format: AuditSinkFormatName): SinkEvent {
  if (record.seq === null) throw new Error(`Audit record ${record.eventId} is not chained`);
  return {
    eventId: record.eventId,
    seq: record.seq,
    occurredAt: record.occurredAt,
    kind: record.kind,
    outcome: record.outcome,
    json: asciiJson(sinkEventBody(record, format)),
  };
}
