import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { BudgetPeriodName, BudgetScopeName } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

// A connection-wide price is stored with this tool name (the column is part of the unique key, so not NULL).
const ANY_TOOL = '*';

export interface CostRow {
  connection: string;
  /** The downstream tool's name, or null for every tool of the connection. */
  tool: string | null;
  perCallMicros: bigint;
}

export interface StoredCost extends CostRow {
  configManaged: boolean;
}

export interface BudgetRow {
  scope: BudgetScopeName;
  /** Connection name, member email or API key name; '' for the organization. */
  scopeRef: string;
  period: BudgetPeriodName;
  limitMicros: bigint;
  alertAt: number[];
}

export interface StoredBudget extends BudgetRow {
  id: string;
  configManaged: boolean;
}

export interface BudgetChanges {
  created: number;
  updated: number;
  deleted: number;
}

type Tx = Prisma.TransactionClient;

const NO_CHANGES: BudgetChanges = { created: 0, updated: 0, deleted: 0 };

// An organization's prices per call and spending limits. Each list is replaced as a whole (from the API or the
// config file); budgets keep their id across replacements so that their alerts and counters carry on.
@Injectable()
export class BudgetRepository {
  constructor(private readonly prisma: PrismaService) {}

  async costs(organizationId: string): Promise<StoredCost[]> {
    const rows = await this.prisma.toolCost.findMany({ where: { organizationId }, orderBy: [{ connection: 'asc' }, { tool: 'asc' }] });
    return rows.map((row) => ({
      connection: row.connection,
      tool: row.tool === ANY_TOOL ? null : row.tool,
      perCallMicros: row.perCallMicros,
      configManaged: row.configManaged,
    }));
  }

  async budgets(organizationId: string, tx: Tx = this.prisma): Promise<StoredBudget[]> {
    const rows = await tx.budget.findMany({ where: { organizationId }, orderBy: [{ scope: 'asc' }, { scopeRef: 'asc' }, { period: 'asc' }] });
    return rows.map((row) => ({
      id: row.id,
      scope: row.scope,
      scopeRef: row.scopeRef,
      period: row.period,
      limitMicros: row.limitMicros,
      alertAt: row.alertAt,
      configManaged: row.configManaged,
    }));
  }

  /** Whether each list belongs to the config file (it declared it); the API may not change it then. */
  async managedByConfig(organizationId: string, tx: Tx = this.prisma): Promise<{ costs: boolean; budgets: boolean }> {
    const [costs, budgets] = await Promise.all([
      tx.toolCost.count({ where: { organizationId, configManaged: true } }),
      tx.budget.count({ where: { organizationId, configManaged: true } }),
    ]);
    return { costs: costs > 0, budgets: budgets > 0 };
  }

  replaceCosts(organizationId: string, costs: CostRow[], configManaged: boolean): Promise<BudgetChanges> {
    return this.prisma.$transaction((tx) => this.replaceCostsIn(tx, organizationId, costs, configManaged));
  }

  /** Inside another transaction (the config file's apply); nothing is written when nothing differs. */
  async replaceCostsIn(tx: Tx, organizationId: string, costs: CostRow[], configManaged: boolean): Promise<BudgetChanges> {
    await this.lockOrganization(tx, organizationId);
    const current = await tx.toolCost.findMany({ where: { organizationId } });
    const key = (connection: string, tool: string, micros: bigint, managed: boolean) => `${connection}\0${tool}\0${micros}\0${managed}`;
    const have = current.map((row) => key(row.connection, row.tool, row.perCallMicros, row.configManaged)).sort();
    const want = costs.map((cost) => key(cost.connection, cost.tool ?? ANY_TOOL, cost.perCallMicros, configManaged)).sort();
    if (isDeepStrictEqual(have, want)) return NO_CHANGES;
    await tx.toolCost.deleteMany({ where: { organizationId } });
    await tx.toolCost.createMany({
      data: costs.map((cost) => ({ organizationId, connection: cost.connection, tool: cost.tool ?? ANY_TOOL, perCallMicros: cost.perCallMicros, configManaged })),
    });
    return { created: costs.length, updated: 0, deleted: current.length };
  }

  replaceBudgets(organizationId: string, budgets: BudgetRow[], configManaged: boolean): Promise<BudgetChanges> {
    return this.prisma.$transaction((tx) => this.replaceBudgetsIn(tx, organizationId, budgets, configManaged));
  }

  /** Upserts by (scope, scopeRef, period) and deletes the rest; an unchanged budget is not written. */
  async replaceBudgetsIn(tx: Tx, organizationId: string, budgets: BudgetRow[], configManaged: boolean): Promise<BudgetChanges> {
    await this.lockOrganization(tx, organizationId);
    const identity = (b: Pick<BudgetRow, 'scope' | 'scopeRef' | 'period'>) => `${b.scope}\0${b.scopeRef}\0${b.period}`;
    const current = new Map((await this.budgets(organizationId, tx)).map((budget) => [identity(budget), budget]));
    const changes = { created: 0, updated: 0, deleted: 0 };
    for (const budget of budgets) {
      const existing = current.get(identity(budget));
      current.delete(identity(budget));
      const data = { limitMicros: budget.limitMicros, alertAt: budget.alertAt, configManaged };
      if (!existing) {
        changes.created++;
        await tx.budget.create({ data: { organizationId, scope: budget.scope, scopeRef: budget.scopeRef, period: budget.period, ...data } });
      } else if (
        existing.limitMicros !== budget.limitMicros ||
        !isDeepStrictEqual(existing.alertAt, budget.alertAt) ||
        existing.configManaged !== configManaged
      ) {
        changes.updated++;
        await tx.budget.update({ where: { id: existing.id }, data });
      }
    }
    if (current.size) {
      changes.deleted += (await tx.budget.deleteMany({ where: { id: { in: [...current.values()].map((b) => b.id) } } })).count;
    }
    return changes;
  }

  /**
   * Records that a budget's alert at `threshold` goes out for the period: its id the first time, null when it
   * already had (the unique row is what makes an alert go out once, whichever replica saw the threshold crossed)
   * or when the budget is gone.
   */
  async recordAlert(organizationId: string, budgetId: string, periodStart: Date, threshold: number): Promise<string | null> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      INSERT INTO budget_alerts (id, budget_id, period_start, threshold)
      SELECT gen_random_uuid(), id, (${periodStart.toISOString()}::timestamptz AT TIME ZONE 'UTC'), ${threshold}::double precision
      FROM budgets WHERE id = ${budgetId}::uuid AND organization_id = ${organizationId}::uuid
      ON CONFLICT (budget_id, period_start, threshold) DO NOTHING
      RETURNING id`;
    return rows[0]?.id ?? null;
  }

  // Serializes concurrent replacements of one organization's lists (two admins, two replicas applying the file).
  private async lockOrganization(tx: Tx, organizationId: string): Promise<void> {
    await tx.$queryRaw`SELECT id FROM organizations WHERE id = ${organizationId}::uuid FOR UPDATE`;
  }
}
