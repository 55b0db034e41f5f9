import { createHash } from 'node:crypto';
import { AuditAppend, auditChainText } from '@gatehouse/db';

export type AuditActorType = 'user' | 'api_key' | 'oauth_client' | 'system';

export interface AuditActor {
  type: AuditActorType;
  id: string | null;
  name: string | null;
  ip: string | null;
  userAgent: string | null;
  /** The person behind a key or OAuth client, when there is one. */
  user?: { id: string | null; email: string | null } | null;
}

/** Gatehouse itself, by the part of it that acted. */
export const systemActor = (name: string): AuditActor => ({ type: 'system', id: null, name, ip: null, userAgent: null });

/** Jobs such as retention. */
export const SYSTEM_ACTOR = systemActor('gatehouse');
/** Changes the config file made. */
export const CONFIG_FILE_ACTOR = systemActor('config-file');

/** What a caller records. Time and event id default to now and a fresh UUID. */
export interface AuditEntry {
  organizationId: string;
  kind: string;
  actor: AuditActor;
  target?: Record<string, unknown> | null;
  outcome?: string | null;
  traceId?: string | null;
  data?: Record<string, unknown>;
  /** Shared by a tools/call's request and outcome records. */
  callId?: string | null;
  eventId?: string;
  occurredAt?: Date;
}

/** The fields a record's hash covers, exactly as stored. */
export interface HashedAuditFields extends AuditAppend {
  seq: bigint;
}

/** The prevHash of an organization's first record: chains of different organizations never splice. */
export function genesisHash(organizationId: string): string {
  return `genesis:${organizationId}`;
}

// SHA-256 hex of `prevHash \n canonical JSON` (auditChainText: the database computes the same when it appends).
// seq is a decimal string so that the form does not depend on how a reader's JSON parser handles 64-bit integers;
// null and absent are the same.
export function auditRecordHash(prevHash: string, record: HashedAuditFields): string {
  const { prefix, suffix } = auditChainText(record);
  return createHash('sha256').update(`${prevHash}\n${prefix}${record.seq.toString()}${suffix}`).digest('hex');
}

/** The bytes a checkpoint signature covers; a retention cut's signature also covers that it is one. */
export function checkpointMessage(organizationId: string, seq: bigint, hash: string, cut = false): Buffer {
  return Buffer.from(`${organizationId}:${seq.toString()}:${hash}${cut ? ':retention-cut' : ''}`, 'utf8');
}
