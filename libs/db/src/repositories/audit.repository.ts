import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

/** JSON as stored in jsonb (what the hash covers is what comes back from the database). */
export type AuditJson = Prisma.JsonValue;

export interface AuditAppend {
  organizationId: string;
  eventId: string;
  occurredAt: Date;
  kind: string;
  actor: AuditJson;
  target: AuditJson | null;
  outcome: string | null;
  traceId: string | null;
  data: AuditJson;
  /** The tools/call a request or outcome record belongs to (null for other records). */
  callId: string | null;
}

/** A record as read back: the fields the hash covers plus its chain fields. */
export interface StoredAuditRecord extends AuditAppend {
  id: bigint;
  seq: bigint | null;
  prevHash: string | null;
  hash: string | null;
}

export interface ChainLink {
  id: bigint;
  seq: bigint;
  prevHash: string;
  hash: string;
}

export interface ChainHead {
  seq: bigint;
  hash: string;
}

export interface AuditCheckpointRecord {
  organizationId: string;
  seq: bigint;
  hash: string;
  signature: string;
  keyId: string;
  /** A retention cut: the records up to seq were removed on purpose. */
  cut: boolean;
  createdAt: Date;
}

/** What a chaining step needs, all inside one transaction that holds the organization's chain lock. */
export interface AuditChainSession {
  head(): Promise<ChainHead | null>;
  unchained(limit: number): Promise<StoredAuditRecord[]>;
  link(links: ChainLink[], chainedAt: Date): Promise<void>;
  lastCheckpoint(): Promise<AuditCheckpointRecord | null>;
  addCheckpoint(checkpoint: Omit<AuditCheckpointRecord, 'organizationId' | 'createdAt' | 'cut'> & { cut?: boolean }): Promise<void>;
  /** The hash of the chained record at seq, if it exists. */
  hashAt(seq: bigint): Promise<string | null>;
  /** The lowest seq of a chained record that occurred at or after `cutoff` (null: none). */
  firstSeqSince(cutoff: Date): Promise<bigint | null>;
}

interface RecordRow {
  id: bigint;
  organization_id: string;
  event_id: string;
  seq: bigint | null;
  occurred_at: Date;
  kind: string;
  actor: AuditJson;
  target: AuditJson | null;
  outcome: string | null;
  trace_id: string | null;
  data: AuditJson;
  call_id: string | null;
  prev_hash: string | null;
  hash: string | null;
}

// A constant first key for pg_advisory_xact_lock(int, int), so audit locks never collide with other users'.
const AUDIT_LOCK_CLASS = 0x4155_4449; // "AUDI"

const fromRow = (row: RecordRow): StoredAuditRecord => ({
  id: row.id,
  organizationId: row.organization_id,
  eventId: row.event_id,
  seq: row.seq,
  occurredAt: row.occurred_at,
  kind: row.kind,
  actor: row.actor,
  target: row.target,
  outcome: row.outcome,
  traceId: row.trace_id,
  data: row.data,
  callId: row.call_id,
  prevHash: row.prev_hash,
  hash: row.hash,
});

const RECORD_COLUMNS = Prisma.sql`id, organization_id::text, event_id::text, seq, occurred_at, kind, actor, target, outcome, trace_id, data, call_id::text, prev_hash, hash`;

// The query repository reads the same columns into the same shape.
export { RECORD_COLUMNS as AUDIT_RECORD_COLUMNS, fromRow as auditRecordFromRow };
export type { RecordRow as AuditRecordRow };

// Raw SQL throughout: appends sit on the tools/call path (one plain INSERT, no round trip for the row back),
// and chaining and verification stream ordered batches.
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  async append(entry: AuditAppend): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO audit_records (organization_id, event_id, occurred_at, kind, actor, target, outcome, trace_id, data, call_id)
      VALUES (${entry.organizationId}::uuid, ${entry.eventId}::uuid, ${entry.occurredAt}::timestamp(3), ${entry.kind},
        ${JSON.stringify(entry.actor)}::jsonb, ${entry.target === null ? null : JSON.stringify(entry.target)}::jsonb,
        ${entry.outcome}, ${entry.traceId}, ${JSON.stringify(entry.data)}::jsonb, ${entry.callId}::uuid)`;
  }

  async organizationsWithUnchained(): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ organization_id: string }[]>`
      SELECT DISTINCT organization_id::text FROM audit_records WHERE seq IS NULL`;
    return rows.map((row) => row.organization_id);
  }

  async organizationsWithRecords(): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ organization_id: string }[]>`
      SELECT DISTINCT organization_id::text FROM audit_records`;
    return rows.map((row) => row.organization_id);
  }

  /**
   * Runs `work` in a transaction holding the organization's chain lock: replicas and workers chaining the
   * same organization take turns, and the lock is released with the transaction even if the process dies.
   */
  async withChainLock<T>(organizationId: string, work: (session: AuditChainSession) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(${AUDIT_LOCK_CLASS}::int, hashtext(${organizationId})::int)) AS lock`;
        const session: AuditChainSession = {
          head: async () => {
            const rows = await tx.$queryRaw<{ seq: bigint; hash: string }[]>`
              SELECT seq, hash FROM audit_records
              WHERE organization_id = ${organizationId}::uuid AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1`;
            return rows[0] ?? null;
          },
          unchained: async (limit) => {
            const rows = await tx.$queryRaw<RecordRow[]>`
              SELECT ${RECORD_COLUMNS} FROM audit_records
              WHERE organization_id = ${organizationId}::uuid AND seq IS NULL ORDER BY id LIMIT ${limit}`;
            return rows.map(fromRow);
          },
          link: async (links, chainedAt) => {
            if (links.length === 0) return;
            await tx.$executeRaw`
              UPDATE audit_records AS r SET seq = l.seq, prev_hash = l.prev_hash, hash = l.hash, chained_at = ${chainedAt}::timestamp(3)
              FROM unnest(${links.map((l) => l.id)}::bigint[], ${links.map((l) => l.seq)}::bigint[],
                ${links.map((l) => l.prevHash)}::text[], ${links.map((l) => l.hash)}::text[]) AS l(id, seq, prev_hash, hash)
              WHERE r.id = l.id AND r.seq IS NULL`;
          },
          lastCheckpoint: async () =>
            tx.auditCheckpoint.findFirst({ where: { organizationId }, orderBy: { seq: 'desc' } }),
          addCheckpoint: async (checkpoint) => {
            await tx.auditCheckpoint.create({ data: { organizationId, ...checkpoint } });
          },
          hashAt: async (seq) => {
            const rows = await tx.$queryRaw<{ hash: string }[]>`
              SELECT hash FROM audit_records WHERE organization_id = ${organizationId}::uuid AND seq = ${seq}`;
            return rows[0]?.hash ?? null;
          },
          firstSeqSince: async (cutoff) => {
            const rows = await tx.$queryRaw<{ seq: bigint | null }[]>`
              SELECT min(seq) AS seq FROM audit_records
              WHERE organization_id = ${organizationId}::uuid AND seq IS NOT NULL AND occurred_at >= ${cutoff}::timestamp(3)`;
            return rows[0]?.seq ?? null;
          },
        };
        return work(session);
      },
      { maxWait: 10_000, timeout: 30_000 },
    );
  }

  /** Chained records with seq > after, in seq order: one batch of a verification walk. */
  async chainedAfter(organizationId: string, after: bigint, limit: number): Promise<StoredAuditRecord[]> {
    const rows = await this.prisma.$queryRaw<RecordRow[]>`
      SELECT ${RECORD_COLUMNS} FROM audit_records
      WHERE organization_id = ${organizationId}::uuid AND seq > ${after} ORDER BY seq LIMIT ${limit}`;
    return rows.map(fromRow);
  }

  async countUnchained(organizationId: string): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ count: bigint }[]>`
      SELECT count(*) AS count FROM audit_records WHERE organization_id = ${organizationId}::uuid AND seq IS NULL`;
    return Number(rows[0]?.count ?? 0);
  }

  /** Checkpoints with after < seq <= upTo (upTo null: no upper bound), in seq order. */
  async checkpointsBetween(organizationId: string, after: bigint, upTo: bigint | null): Promise<AuditCheckpointRecord[]> {
    return this.prisma.auditCheckpoint.findMany({
      where: { organizationId, seq: { gt: after, ...(upTo === null ? {} : { lte: upTo }) } },
      orderBy: [{ seq: 'asc' }, { createdAt: 'asc' }],
      select: { organizationId: true, seq: true, hash: true, signature: true, keyId: true, cut: true, createdAt: true },
    });
  }

  /** The latest retention cut below `before` (null: no bound): where verification of what remains starts. */
  async latestCut(organizationId: string, before: bigint | null = null): Promise<AuditCheckpointRecord | null> {
    return this.prisma.auditCheckpoint.findFirst({
      where: { organizationId, cut: true, ...(before === null ? {} : { seq: { lt: before } }) },
      orderBy: { seq: 'desc' },
      select: { organizationId: true, seq: true, hash: true, signature: true, keyId: true, cut: true, createdAt: true },
    });
  }

  /** Deletes up to `limit` chained records with seq <= upTo; returns how many (batched so no statement runs long). */
  async deleteChainedUpTo(organizationId: string, upTo: bigint, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM audit_records WHERE id IN (
        SELECT id FROM audit_records WHERE organization_id = ${organizationId}::uuid AND seq IS NOT NULL AND seq <= ${upTo}
        ORDER BY seq LIMIT ${limit})`;
  }
}
