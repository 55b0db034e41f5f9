import { Injectable } from '@nestjs/common';
import { BudgetScopeName } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { PreparedSql, SqlPool, sqlTimestamp } from '../sql-pool.service';

/** One call that went to a downstream: what it cost (0 when it was not charged) and who made it. */
export interface UsageEntry {
  organizationId: string;
  /** When the call was reserved: the period its cost counts in. */
  occurredAt: Date;
  connection: string;
  /** The downstream tool's name. */
  tool: string;
  principalSubject: string;
  userEmail: string | null;
  apiKeyId: string | null;
  costMicros: bigint;
  outcome: string;
  approvalRequestId?: string | null;
}

/** A row: the calls of one second alike in every column of their entry, with their summed cost. */
export interface UsageRow extends UsageEntry {
  calls: number;
}

export type UsageGrouping = 'connection' | 'tool' | 'member';

export interface UsageTotal {
  connection?: string;
  tool?: string;
  /** The person's email; null for calls with no person behind the credential. */
  member?: string | null;
  calls: number;
  costMicros: bigint;
}

/** Spend recorded up to the end of one hour or day of a range, from its start. */
export interface CumulativeSpend {
  /** The bucket's start. */
  at: Date;
  costMicros: bigint;
}

export interface TimeRange {
  from: Date;
  /** Exclusive. */
  to: Date;
}

const INSERT_USAGE: PreparedSql = {
  name: 'usage-insert',
  text: `INSERT INTO usage_records (id, organization_id, occurred_at, calls, connection, tool, principal_subject, user_email, api_key_id, cost_micros, outcome, approval_request_id)
    SELECT gen_random_uuid(), r.* FROM jsonb_to_recordset($1::jsonb) AS r(organization_id uuid, occurred_at timestamp(3), calls integer,
      connection text, tool text, principal_subject text, user_email text, api_key_id uuid, cost_micros bigint, outcome text, approval_request_id uuid)`,
};

// Usage records are the durable account of spending: reports read them, and budget counters lost with Redis
// are rebuilt from them.
@Injectable()
export class UsageRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly sql: SqlPool,
  ) {}

  // One statement per batch, the rows as one JSON parameter through node-postgres: the rows of every call pass
  // through here, and building them through the query builder cost more CPU than the call itself.
  async insertMany(entries: UsageRow[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => ({
      organization_id: e.organizationId,
      occurred_at: sqlTimestamp(e.occurredAt),
      calls: e.calls,
      connection: e.connection,
      tool: e.tool,
      principal_subject: e.principalSubject,
      user_email: e.userEmail,
      api_key_id: e.apiKeyId,
      cost_micros: e.costMicros.toString(),
      outcome: e.outcome,
      approval_request_id: e.approvalRequestId ?? null,
    }));
    await this.sql.query(INSERT_USAGE, [JSON.stringify(rows)]);
  }

  /** What one budget's subject spent in a time range: the organization, or one connection, member or API key (by name). */
  async spent(organizationId: string, scope: BudgetScopeName, ref: string, range: TimeRange): Promise<bigint> {
    const where: Prisma.UsageRecordWhereInput = { organizationId, occurredAt: { gte: range.from, lt: range.to } };
    switch (scope) {
      case 'organization':
        break;
      case 'connection':
        where.connection = ref;
        break;
      case 'member':
        where.userEmail = ref;
        break;
      case 'api_key': {
        const keys = await this.prisma.apiKey.findMany({ where: { organizationId, name: ref }, select: { id: true } });
        where.apiKeyId = { in: keys.map((key) => key.id) };
        break;
      }
    }
    const { _sum } = await this.prisma.usageRecord.aggregate({ where, _sum: { costMicros: true } });
    return _sum.costMicros ?? 0n;
  }

  /**
   * One budget's recorded spend as it accumulated over a range, one point per hour or day from the range's start up
   * to `until` (empty buckets included, so the line is flat where nothing was spent): its burn-down.
   */
  async cumulativeSpent(
    organizationId: string,
    scope: BudgetScopeName,
    ref: string,
    range: TimeRange & { until: Date },
    bucket: 'hour' | 'day',
  ): Promise<CumulativeSpend[]> {
    const subject = {
      organization: Prisma.empty,
      connection: Prisma.sql`AND u.connection = ${ref}`,
      member: Prisma.sql`AND u.user_email = ${ref}`,
      api_key: Prisma.sql`AND u.api_key_id IN (SELECT k.id FROM api_keys k WHERE k.organization_id = ${organizationId}::uuid AND k.name = ${ref})`,
    }[scope];
    const step = bucket === 'hour' ? Prisma.sql`interval '1 hour'` : Prisma.sql`interval '1 day'`;
    // occurred_at is UTC without a time zone: the bounds are bound as such and the buckets read back as text, whatever
    // the session's time zone. The range scan uses the (organization_id, occurred_at) index.
    const [from, to, until] = [range.from, range.to, range.until].map(sqlTimestamp);
    const rows = await this.prisma.$queryRaw<{ at: string; cost: bigint | string }[]>`
      WITH spent AS (
        SELECT date_trunc(${bucket}, u.occurred_at) AS at, sum(u.cost_micros)::bigint AS cost
        FROM usage_records u
        WHERE u.organization_id = ${organizationId}::uuid AND u.occurred_at >= ${from}::timestamp AND u.occurred_at < ${to}::timestamp ${subject}
        GROUP BY 1
      )
      SELECT to_char(b.at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, (sum(coalesce(s.cost, 0)) OVER (ORDER BY b.at))::bigint AS cost
      FROM generate_series(${from}::timestamp, LEAST(${until}::timestamp, ${to}::timestamp - ${step}), ${step}) AS b(at)
      LEFT JOIN spent s ON s.at = b.at
      ORDER BY b.at`;
    return rows.map((row) => ({ at: new Date(row.at), costMicros: BigInt(row.cost) }));
  }

  async totals(organizationId: string, range: TimeRange, groupBy: UsageGrouping): Promise<UsageTotal[]> {
    const where = { organizationId, occurredAt: { gte: range.from, lt: range.to } };
    const sums = { _sum: { costMicros: true, calls: true } } as const;
    const total = (row: { _sum: { costMicros: bigint | null; calls: number | null } }) => ({
      calls: row._sum.calls ?? 0,
      costMicros: row._sum.costMicros ?? 0n,
    });
    switch (groupBy) {
      case 'connection':
        return (await this.prisma.usageRecord.groupBy({ by: ['connection'], where, ...sums, orderBy: { connection: 'asc' } })).map((row) => ({
          connection: row.connection,
          ...total(row),
        }));
      case 'tool':
        return (
          await this.prisma.usageRecord.groupBy({ by: ['connection', 'tool'], where, ...sums, orderBy: [{ connection: 'asc' }, { tool: 'asc' }] })
        ).map((row) => ({ connection: row.connection, tool: row.tool, ...total(row) }));
      case 'member':
        return (await this.prisma.usageRecord.groupBy({ by: ['userEmail'], where, ...sums, orderBy: { userEmail: 'asc' } })).map((row) => ({
          member: row.userEmail,
          ...total(row),
        }));
    }
  }
}
