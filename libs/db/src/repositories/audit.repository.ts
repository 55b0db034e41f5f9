import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { SqlPool, SqlQuery, sqlTimestamp } from '../sql-pool.service';
import { AUDIT_APPEND, auditAppendDocument } from './audit-append';

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
const CHECKPOINT_FIELDS = { organizationId: true, seq: true, hash: true, signature: true, keyId: true, cut: true, createdAt: true } as const;

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
  /** The seq of the latest retention cut (null: none). */
  latestCutSeq(): Promise<bigint | null>;
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

// The same columns through node-postgres: 64-bit numbers as text, and the time as a timestamptz so that it
// does not depend on the process's time zone. The output column "id" is then text: order by audit_records.id.
const PG_RECORD_COLUMNS = `id::text, organization_id::text, event_id::text, seq::text, occurred_at AT TIME ZONE 'UTC' AS occurred_at,
  kind, actor, target, outcome, trace_id, data, call_id::text, prev_hash, hash`;
type PgRecordRow = Omit<RecordRow, 'id' | 'seq'> & { id: string; seq: string | null };
const fromPgRow = (row: PgRecordRow): StoredAuditRecord => fromRow({ ...row, id: BigInt(row.id), seq: row.seq === null ? null : BigInt(row.seq) });

const PG_CHECKPOINT_COLUMNS = `organization_id::text, seq::text, hash, signature, key_id, cut, created_at AT TIME ZONE 'UTC' AS created_at`;
interface PgCheckpointRow {
  organization_id: string;
  seq: string;
  hash: string;
  signature: string;
  key_id: string;
  cut: boolean;
  created_at: Date;
}
const fromPgCheckpoint = (row: PgCheckpointRow): AuditCheckpointRecord => ({
  organizationId: row.organization_id,
  seq: BigInt(row.seq),
  hash: row.hash,
  signature: row.signature,
  keyId: row.key_id,
  cut: row.cut,
  createdAt: row.created_at,
});

// Reads of the chain's head shared by chaining (inside the chain lock) and the overview (outside it).
async function chainHead(query: SqlQuery, organizationId: string): Promise<ChainHead | null> {
  const [row] = await query<{ seq: string; hash: string }>(
    `SELECT seq::text, hash FROM audit_records WHERE organization_id = $1::uuid AND seq IS NOT NULL ORDER BY audit_records.seq DESC LIMIT 1`,
    [organizationId],
  );
  return row ? { seq: BigInt(row.seq), hash: row.hash } : null;
}

async function lastCheckpoint(query: SqlQuery, organizationId: string): Promise<AuditCheckpointRecord | null> {
  const [row] = await query<PgCheckpointRow>(
    `SELECT ${PG_CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE organization_id = $1::uuid ORDER BY audit_checkpoints.seq DESC, audit_checkpoints.created_at DESC LIMIT 1`,
    [organizationId],
  );
  return row ? fromPgCheckpoint(row) : null;
}

async function hashAt(query: SqlQuery, organizationId: string, seq: bigint): Promise<string | null> {
  const [row] = await query<{ hash: string }>('SELECT hash FROM audit_records WHERE organization_id = $1::uuid AND seq = $2::bigint', [organizationId, seq.toString()]);
  return row?.hash ?? null;
}

/** Where an organization's chain stands, read without the chain lock (a snapshot that may be a moment old). */
export interface AuditChainState {
  head: ChainHead | null;
  checkpoint: AuditCheckpointRecord | null;
  /** The hash of the record at the checkpoint's seq (null: no such record, or no checkpoint). */
  hashAtCheckpoint: string | null;
  unchained: number;
}

// The query repository reads the same columns into the same shape.
export { RECORD_COLUMNS as AUDIT_RECORD_COLUMNS, fromRow as auditRecordFromRow, PG_RECORD_COLUMNS as AUDIT_PG_RECORD_COLUMNS, fromPgRow as auditRecordFromPgRow };
export type { RecordRow as AuditRecordRow, PgRecordRow as AuditPgRecordRow };

// Raw SQL throughout: appends sit on the tools/call path (one statement, no round trip for the row back), and
// chaining (of records appended unchained: calls recorded interrupted, records from before chaining on append)
// and verification stream ordered batches.
@Injectable()
export class AuditRepository {
  constructor(
    private readonly prisma: PrismaService,
    // Appends and chaining run for every tool call: node-postgres directly (see SqlPool).
    private readonly sql: SqlPool,
  ) {}

  /** Appends one record, chained (see AUDIT_APPEND). Resolved: committed. */
  async append(entry: AuditAppend): Promise<void> {
    await this.sql.query(AUDIT_APPEND, [auditAppendDocument({ records: [entry], closed: [] })]);
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
   * Organizations whose chain head is past their latest checkpoint, with both: records are chained as they are
   * appended, and checkpoints are made afterwards. Every organization with records counts, including those that are no
   * longer in the organizations table (records outlive them) and the one that records refused credentials: they are
   * found by skipping through an index on organization_id, one probe each, not by reading the records.
   */
  async chainsPastCheckpoint(): Promise<{ organizationId: string; headSeq: bigint; checkpointSeq: bigint | null; checkpointAt: Date | null }[]> {
    const rows = await this.sql.query<{ organization_id: string; head_seq: string; checkpoint_seq: string | null; checkpoint_at: Date | null }>(
      `WITH RECURSIVE orgs AS (
         (SELECT organization_id AS id FROM audit_records ORDER BY organization_id LIMIT 1)
         UNION ALL
         SELECT (SELECT organization_id FROM audit_records WHERE organization_id > orgs.id ORDER BY organization_id LIMIT 1)
         FROM orgs WHERE orgs.id IS NOT NULL
       )
       SELECT o.id::text AS organization_id, h.seq::text AS head_seq, c.seq::text AS checkpoint_seq, c.created_at AT TIME ZONE 'UTC' AS checkpoint_at
       FROM orgs o
       CROSS JOIN LATERAL (SELECT seq FROM audit_records WHERE organization_id = o.id AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1) h
       LEFT JOIN LATERAL (SELECT seq, created_at FROM audit_checkpoints WHERE organization_id = o.id ORDER BY seq DESC, created_at DESC LIMIT 1) c ON true
       WHERE o.id IS NOT NULL AND (c.seq IS NULL OR h.seq > c.seq)`,
    );
    return rows.map((row) => ({
      organizationId: row.organization_id,
      headSeq: BigInt(row.head_seq),
      checkpointSeq: row.checkpoint_seq === null ? null : BigInt(row.checkpoint_seq),
      checkpointAt: row.checkpoint_at,
    }));
  }

  /**
   * Runs `work` in a transaction holding the organization's chain lock: replicas and workers chaining the
   * same organization take turns, and the lock is released with the transaction even if the process dies.
   */
  async withChainLock<T>(organizationId: string, work: (session: AuditChainSession) => Promise<T>): Promise<T> {
    return this.sql.transaction(async (query) => {
      await query('SELECT pg_advisory_xact_lock($1::int, hashtext($2)::int)', [AUDIT_LOCK_CLASS, organizationId]);
      const session: AuditChainSession = {
        head: () => chainHead(query, organizationId),
        unchained: async (limit) => {
          const rows = await query<PgRecordRow>(
            `SELECT ${PG_RECORD_COLUMNS} FROM audit_records WHERE organization_id = $1::uuid AND seq IS NULL ORDER BY audit_records.id LIMIT $2`,
            [organizationId, limit],
          );
          return rows.map(fromPgRow);
        },
        link: async (links, chainedAt) => {
          if (links.length === 0) return;
          await query(
            `UPDATE audit_records AS r SET seq = l.seq, prev_hash = l.prev_hash, hash = l.hash, chained_at = $5::timestamp(3)
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS l(id, seq, prev_hash, hash)
             WHERE r.id = l.id AND r.seq IS NULL`,
            [links.map((l) => l.id.toString()), links.map((l) => l.seq.toString()), links.map((l) => l.prevHash), links.map((l) => l.hash), sqlTimestamp(chainedAt)],
          );
        },
        lastCheckpoint: () => lastCheckpoint(query, organizationId),
        addCheckpoint: async (checkpoint) => {
          await query(
            `INSERT INTO audit_checkpoints (id, organization_id, seq, hash, signature, key_id, cut)
             VALUES (gen_random_uuid(), $1::uuid, $2::bigint, $3, $4, $5, $6)`,
            [organizationId, checkpoint.seq.toString(), checkpoint.hash, checkpoint.signature, checkpoint.keyId, checkpoint.cut ?? false],
          );
        },
        hashAt: (seq) => hashAt(query, organizationId, seq),
        firstSeqSince: async (cutoff) => {
          const [row] = await query<{ seq: string | null }>(
            `SELECT min(seq)::text AS seq FROM audit_records
             WHERE organization_id = $1::uuid AND seq IS NOT NULL AND occurred_at >= $2::timestamp(3)`,
            [organizationId, sqlTimestamp(cutoff)],
          );
          return row?.seq ? BigInt(row.seq) : null;
        },
        latestCutSeq: async () => {
          const [row] = await query<{ seq: string | null }>(
            'SELECT max(seq)::text AS seq FROM audit_checkpoints WHERE organization_id = $1::uuid AND cut',
            [organizationId],
          );
          return row?.seq ? BigInt(row.seq) : null;
        },
      };
      return work(session);
    });
  }

  /** Chained records with seq > after, in seq order: one batch of a verification walk. */
  async chainedAfter(organizationId: string, after: bigint, limit: number): Promise<StoredAuditRecord[]> {
    const rows = await this.prisma.$queryRaw<RecordRow[]>`
      SELECT ${RECORD_COLUMNS} FROM audit_records
      WHERE organization_id = ${organizationId}::uuid AND seq > ${after} ORDER BY seq LIMIT ${limit}`;
    return rows.map(fromRow);
  }

  /** The chain's head, latest checkpoint (with the hash it should match) and unchained backlog: a few index reads. */
  async chainState(organizationId: string): Promise<AuditChainState> {
    const query: SqlQuery = this.sql.query.bind(this.sql);
    const [head, checkpoint, unchained] = await Promise.all([chainHead(query, organizationId), lastCheckpoint(query, organizationId), this.countUnchained(organizationId)]);
    const hashAtCheckpoint = checkpoint ? await hashAt(query, organizationId, checkpoint.seq) : null;
    return { head, checkpoint, hashAtCheckpoint, unchained };
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
      select: CHECKPOINT_FIELDS,
    });
  }

  /** The latest retention cut below `before` (null: no bound): where verification of what remains starts. */
  async latestCut(organizationId: string, before: bigint | null = null): Promise<AuditCheckpointRecord | null> {
    return this.prisma.auditCheckpoint.findFirst({
      where: { organizationId, cut: true, ...(before === null ? {} : { seq: { lt: before } }) },
      orderBy: { seq: 'desc' },
      select: CHECKPOINT_FIELDS,
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
