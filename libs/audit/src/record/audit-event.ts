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
  actor: unknown;
  target: unknown;
  outcome: string | null;
  traceId: string | null;
  callId: string | null;
  data: unknown;
  prevHash: string | null;
  hash: string | null;
}

export function auditEvent(record: StoredAuditRecord): AuditEvent {
  return {
    eventId: record.eventId,
    organizationId: record.organizationId,
    seq: record.seq === null ? null : record.seq.toString(),
    occurredAt: record.occurredAt.toISOString(),
    kind: record.kind,
    actor: record.actor,
    target: record.target,
    outcome: record.outcome,
    traceId: record.traceId,
    callId: record.callId,
    data: record.data,
    prevHash: record.prevHash,
    hash: record.hash,
  };
}
