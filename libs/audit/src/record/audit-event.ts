import type { StoredAuditRecord } from '@gatehouse/db';

/**
 * A record as Gatehouse exports and streams it ("native" format): every field its hash covers, plus its chain
 * fields, so a SIEM can re-verify what it received. seq is a string (64-bit).
 */
export interface AuditEvent {
  eventId: string;
  organizationId: string;
  seq: string | null;
  occurredAt: string;
  kind: string;
  actor: JsonObject;
  target: JsonObject | null;
  outcome: string | null;
  traceId: string | null;
  callId: string | null;
  data: JsonObject;
  prevHash: string | null;
  hash: string | null;
}

type JsonObject = Record<string, unknown>;

// Records are written from objects only (an AuditActor, a target, a data record), so their JSON reads back as one.
const object = (value: unknown): JsonObject => value as JsonObject;

export function auditEvent(record: StoredAuditRecord): AuditEvent {
  return {
    eventId: record.eventId,
    organizationId: record.organizationId,
    seq: record.seq === null ? null : record.seq.toString(),
    occurredAt: record.occurredAt.toISOString(),
    kind: record.kind,
    actor: object(record.actor),
    target: record.target === null ? null : object(record.target),
    outcome: record.outcome,
    traceId: record.traceId,
    callId: record.callId,
    data: object(record.data),
    prevHash: record.prevHash,
    hash: record.hash,
  };
}
