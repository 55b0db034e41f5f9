import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { AuditSinkFormatName, AuditSinkSettings, AuditSinkSpec, AuditSinkTypeName } from '@gatehouse/config';
import { SecretCipher, secretBinding } from '../crypto/secret-cipher';
import { AuditSinkState, Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { isUniqueViolation } from './unique-violation';

export type AuditSinkStateName = AuditSinkState;

/** A sink as the admin API and metrics see it: never the secret. lag = chain head seq − cursor. */
export interface AuditSinkView {
  id: string;
  organizationId: string;
  name: string;
  type: AuditSinkTypeName;
  format: AuditSinkFormatName;
  settings: AuditSinkSettings;
  enabled: boolean;
  configManaged: boolean;
  state: AuditSinkStateName;
  cursor: bigint;
  lag: bigint;
  failures: number;
  lastError: string | null;
  lastAttemptAt: Date | null;
  lastDeliveredAt: Date | null;
}

/** What a delivery run needs: where to, in which form, from where, and the secret in clear. */
export type AuditSinkTarget = Pick<
  AuditSinkView,
  'id' | 'organizationId' | 'name' | 'type' | 'format' | 'settings' | 'enabled' | 'state' | 'cursor' | 'failures' | 'lastAttemptAt'
> & { secret: string | null };

/** A change through the admin API; settings and secret replace the stored ones when given. */
export interface AuditSinkUpdate {
  type?: AuditSinkTypeName;
  format?: AuditSinkFormatName;
  enabled?: boolean;
  settings?: AuditSinkSettings;
  secret?: string | null;
}

export interface AuditSinkChanges {
  created: number;
  updated: number;
  deleted: number;
}

type Tx = Prisma.TransactionClient;
type SinkRow = Prisma.AuditSinkGetPayload<object>;

interface ViewRow {
  id: string;
  organization_id: string;
  name: string;
  type: AuditSinkTypeName;
  format: AuditSinkFormatName;
  settings: AuditSinkSettings;
  enabled: boolean;
  config_managed: boolean;
  state: AuditSinkStateName;
  cursor: bigint;
  head: bigint;
  failures: number;
  last_error: string | null;
  last_attempt_at: Date | null;
  last_delivered_at: Date | null;
}

// The chain head per sink from the (organization_id, seq) unique index: one index probe per sink.
const VIEW_SELECT = Prisma.sql`
  SELECT s.id::text, s.organization_id::text, s.name, s.type::text, s.format::text, s.settings, s.enabled,
    s.config_managed, s.state::text, s.cursor, s.failures, s.last_error, s.last_attempt_at, s.last_delivered_at,
    COALESCE((SELECT max(r.seq) FROM audit_records r WHERE r.organization_id = s.organization_id), 0)::bigint AS head
  FROM audit_sinks s`;

const toView = (row: ViewRow): AuditSinkView => ({
  id: row.id,
  organizationId: row.organization_id,
  name: row.name,
  type: row.type,
  format: row.format,
  settings: row.settings,
  enabled: row.enabled,
  configManaged: row.config_managed,
  state: row.state,
  cursor: row.cursor,
  // Retention may prune below a cursor; the lag is never negative.
  lag: row.head > row.cursor ? row.head - row.cursor : 0n,
  failures: row.failures,
  lastError: row.last_error,
  lastAttemptAt: row.last_attempt_at,
  lastDeliveredAt: row.last_delivered_at,
});

// An organization's SIEM sinks. The secret (webhook signing secret, HEC token) is encrypted at rest.
@Injectable()
export class AuditSinkRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly cipher: SecretCipher,
  ) {}

  /** The config file's sinks: upserted by name (delivery state kept); the ones it made and no longer lists go. */
  async applyIn(tx: Tx, organizationId: string, desired: AuditSinkSpec[]): Promise<AuditSinkChanges> {
    const existing = await tx.auditSink.findMany({ where: { organizationId } });
    const byName = new Map(existing.map((row) => [row.name, row]));
    const changes = { created: 0, updated: 0, deleted: 0 };
    for (const sink of desired) {
      const row = byName.get(sink.name);
      const data = { ...this.columns(organizationId, sink), configManaged: true };
      if (!row) {
        changes.created++;
        await tx.auditSink.create({ data: { organizationId, name: sink.name, ...data } });
        continue;
      }
      // Compared decrypted: the secret's envelope differs on every write.
      const same =
        row.configManaged &&
        row.type === sink.type &&
        row.format === sink.format &&
        row.enabled === sink.enabled &&
        isDeepStrictEqual(row.settings as unknown as AuditSinkSettings, sink.settings) &&
        this.cipher.holds(row.secret, sink.secret, secretBinding.auditSink(organizationId, sink.name));
      if (same) continue;
      changes.updated++;
      await tx.auditSink.update({ where: { id: row.id }, data });
    }
    const wanted = new Set(desired.map((sink) => sink.name));
    const stale = existing.filter((row) => row.configManaged && !wanted.has(row.name)).map((row) => row.id);
    if (stale.length) changes.deleted += (await tx.auditSink.deleteMany({ where: { id: { in: stale } } })).count;
    return changes;
  }

  async list(organizationId: string): Promise<AuditSinkView[]> {
    const rows = await this.prisma.$queryRaw<ViewRow[]>`${VIEW_SELECT} WHERE s.organization_id = ${organizationId}::uuid ORDER BY s.name`;
    return rows.map(toView);
  }

  async find(organizationId: string, id: string): Promise<AuditSinkView | null> {
    const rows = await this.prisma.$queryRaw<ViewRow[]>`${VIEW_SELECT} WHERE s.organization_id = ${organizationId}::uuid AND s.id = ${id}::uuid`;
    return rows[0] ? toView(rows[0]) : null;
  }

  /** Every organization's sinks, for the metrics scrape. */
  async listAll(): Promise<AuditSinkView[]> {
    const rows = await this.prisma.$queryRaw<ViewRow[]>`${VIEW_SELECT}`;
    return rows.map(toView);
  }

  /** Enabled, active sinks with chained records past their cursor: the ones a delivery run has work for. */
  async lagging(): Promise<{ id: string; organizationId: string }[]> {
    const rows = await this.prisma.$queryRaw<{ id: string; organization_id: string }[]>`
      SELECT s.id::text, s.organization_id::text FROM audit_sinks s
      WHERE s.enabled AND s.state = 'active'
        AND EXISTS (SELECT 1 FROM audit_records r WHERE r.organization_id = s.organization_id AND r.seq > s.cursor)`;
    return rows.map((row) => ({ id: row.id, organizationId: row.organization_id }));
  }

  /** Null when the organization already has a sink of that name. */
  async create(organizationId: string, sink: AuditSinkSpec): Promise<string | null> {
    try {
      const row = await this.prisma.auditSink.create({
        data: { organizationId, name: sink.name, ...this.columns(organizationId, sink) },
        select: { id: true },
      });
      return row.id;
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }

  // What a sink's row holds of its spec: the secret sealed (the envelope differs on every write).
  private columns(organizationId: string, sink: AuditSinkSpec) {
    return {
      type: sink.type,
      format: sink.format,
      enabled: sink.enabled,
      settings: sink.settings as unknown as Prisma.InputJsonValue,
      secret: sink.secret === null ? null : this.cipher.seal(sink.secret, secretBinding.auditSink(organizationId, sink.name)),
    };
  }

  async update(organizationId: string, id: string, change: AuditSinkUpdate): Promise<boolean> {
    // A secret is sealed for the sink's name, which an update never changes.
    const named = change.secret ? await this.prisma.auditSink.findFirst({ where: { organizationId, id }, select: { name: true } }) : null;
    if (change.secret && !named) return false;
    const { count } = await this.prisma.auditSink.updateMany({
      where: { organizationId, id },
      data: {
        ...(change.type === undefined ? {} : { type: change.type }),
        ...(change.format === undefined ? {} : { format: change.format }),
        ...(change.enabled === undefined ? {} : { enabled: change.enabled }),
        ...(change.settings === undefined ? {} : { settings: change.settings as unknown as Prisma.InputJsonValue }),
        ...(change.secret === undefined ? {} : { secret: change.secret === null ? null : this.cipher.seal(change.secret, secretBinding.auditSink(organizationId, named!.name)) }),
      },
    });
    return count === 1;
  }

  async delete(organizationId: string, id: string): Promise<boolean> {
    return (await this.prisma.auditSink.deleteMany({ where: { organizationId, id } })).count === 1;
  }

  /** Out of the dead-letter state with a clean failure count: delivery resumes from the cursor, skipping nothing. */
  async resetFailures(organizationId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.auditSink.updateMany({
      where: { organizationId, id },
      data: { state: 'active', failures: 0, lastError: null },
    });
    return count === 1;
  }

  async forDelivery(organizationId: string, id: string): Promise<AuditSinkTarget | null> {
    const row: SinkRow | null = await this.prisma.auditSink.findFirst({ where: { organizationId, id } });
    if (!row) return null;
    return {
      id: row.id,
      organizationId: row.organizationId,
      name: row.name,
      type: row.type,
      format: row.format,
      settings: row.settings as unknown as AuditSinkSettings,
      secret: row.secret === null ? null : this.cipher.open(row.secret, secretBinding.auditSink(row.organizationId, row.name)),
      enabled: row.enabled,
      state: row.state,
      cursor: row.cursor,
      failures: row.failures,
      lastAttemptAt: row.lastAttemptAt,
    };
  }

  /**
   * Moves the cursor from `from` to `to` only if it still is at `from`: two deliverers of one sink can never both
   * advance it, and the loser learns it should stop. A success clears the failure count.
   */
  async advanceCursor(organizationId: string, id: string, from: bigint, to: bigint, at: Date): Promise<boolean> {
    const { count } = await this.prisma.auditSink.updateMany({
      where: { organizationId, id, cursor: from },
      data: { cursor: to, failures: 0, lastError: null, lastAttemptAt: at, lastDeliveredAt: at },
    });
    return count === 1;
  }

  /** Moves the cursor back (never forward) so records whose delivery is in doubt are sent again. */
  async rewindCursor(organizationId: string, id: string, to: bigint): Promise<void> {
    await this.prisma.auditSink.updateMany({ where: { organizationId, id, cursor: { gt: to } }, data: { cursor: to } });
  }

  /** Counts a failed attempt, atomically; the attempt that reaches `deadLetterAfter` moves the sink to dead_letter. */
  async recordFailure(
    organizationId: string,
    id: string,
    error: string,
    at: Date,
    deadLetterAfter: number,
  ): Promise<{ failures: number; state: AuditSinkStateName } | null> {
    const rows = await this.prisma.$queryRaw<{ failures: number; state: AuditSinkStateName }[]>`
      UPDATE audit_sinks SET failures = failures + 1, last_error = ${error}, last_attempt_at = ${at}::timestamp(3),
        state = CASE WHEN failures + 1 >= ${deadLetterAfter} THEN 'dead_letter'::"AuditSinkState" ELSE state END,
        updated_at = ${at}::timestamp(3)
      WHERE organization_id = ${organizationId}::uuid AND id = ${id}::uuid
      RETURNING failures, state::text`;
    return rows[0] ?? null;
  }
}
