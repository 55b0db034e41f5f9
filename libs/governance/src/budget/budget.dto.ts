import { z } from 'zod';
import { BudgetSpec, budgetScopeFields, budgetScopeRef, budgetSpecsSchema, microsToUsd, ToolCostSpec, toolCostsSchema, usdToMicros } from '@gatehouse/config';
import type { BudgetRow, CostRow, CumulativeSpend, StoredBudget, StoredCost, UsageGrouping, UsageTotal } from '@gatehouse/db';
import { BudgetWindow } from './budget-period';

// Whole-list replacements, in the config file's shape, for the admin API.
export const costsInputSchema = z.object({ costs: toolCostsSchema }).strict();
export const budgetsInputSchema = z.object({ budgets: budgetSpecsSchema }).strict();
export type CostsInput = z.infer<typeof costsInputSchema>;
export type BudgetsInput = z.infer<typeof budgetsInputSchema>;

/** The config file's and the API's prices, as stored. */
export function toCostRows(costs: ToolCostSpec[]): CostRow[] {
  return costs.map((cost) => ({
    connection: cost.connection,
    tool: cost.tool === undefined || cost.tool === '*' ? null : cost.tool,
    perCallMicros: usdToMicros(cost.perCallUsd),
  }));
}

/** The config file's and the API's budgets, as stored. */
export function toBudgetRows(budgets: BudgetSpec[]): BudgetRow[] {
  return budgets.map((budget) => ({
    scope: budget.scope,
    scopeRef: budgetScopeRef(budget),
    period: budget.period,
    limitMicros: usdToMicros(budget.limitUsd),
    alertAt: budget.alertAt,
  }));
}

// A date (the start of that day, UTC) or a date-time with an offset.
const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value));

export const USAGE_GROUPINGS = ['connection', 'tool', 'member'] as const satisfies readonly UsageGrouping[];

export const usageQuerySchema = z
  .object({
    from: instant.optional().describe('Start (inclusive): a date or date-time; default the start of this month (UTC)'),
    to: instant.optional().describe('End (exclusive); default the end of this month (UTC)'),
    groupBy: z.enum(USAGE_GROUPINGS).default('connection').describe('connection, tool (per connection) or member'),
  })
  .strict();
export type UsageQuery = z.infer<typeof usageQuerySchema>;

// Amounts leave the gateway twice: in USD (a JSON number, for people) and in micro-dollars (exact, for sums).
const exact = (micros: bigint) => Number(micros);

export function costsView(costs: StoredCost[]) {
  return {
    configManaged: costs.some((cost) => cost.configManaged),
    costs: costs.map((cost) => ({
      connection: cost.connection,
      tool: cost.tool,
      perCallUsd: microsToUsd(cost.perCallMicros),
      perCallMicros: exact(cost.perCallMicros),
      configManaged: cost.configManaged,
    })),
  };
}

export function budgetView(budget: StoredBudget, window: BudgetWindow, spentMicros: bigint) {
  return {
    id: budget.id,
    scope: budget.scope,
    ...budgetScopeFields(budget.scope, budget.scopeRef),
    period: budget.period,
    limitUsd: microsToUsd(budget.limitMicros),
    limitMicros: exact(budget.limitMicros),
    alertAt: budget.alertAt,
    configManaged: budget.configManaged,
    current: { period: window.key, start: window.start, end: window.end, spentUsd: microsToUsd(spentMicros), spentMicros: exact(spentMicros) },
  };
}

/** A call's price against each budget it would count toward: spent now, after the call, and whether it would block. */
export function costProjectionView({ costMicros, budgets }: { costMicros: bigint; budgets: { budget: StoredBudget; spentMicros: bigint }[] }) {
  return {
    perCallUsd: microsToUsd(costMicros),
    perCallMicros: exact(costMicros),
    budgets: budgets.map(({ budget, spentMicros }) => ({
      id: budget.id,
      scope: budget.scope,
      /** The connection, member or key it limits; null for the organization's. */
      scopeRef: budget.scope === 'organization' ? null : budget.scopeRef,
      period: budget.period,
      limitUsd: microsToUsd(budget.limitMicros),
      spentUsd: microsToUsd(spentMicros),
      afterUsd: microsToUsd(spentMicros + costMicros),
      exceeds: costMicros > 0n && spentMicros + costMicros > budget.limitMicros,
    })),
  };
}

/**
 * A budget in its current period with its burn-down: recorded spend accumulated per hour (daily budgets) or day
 * (monthly ones), and what calls under way have reserved on top of it.
 */
export function budgetBurnDownView(view: BudgetView, bucket: 'hour' | 'day', points: CumulativeSpend[], inFlightMicros: bigint) {
  return {
    ...view,
    bucket,
    inFlightUsd: microsToUsd(inFlightMicros),
    inFlightMicros: exact(inFlightMicros),
    points: points.map((point) => ({ at: point.at, spentUsd: microsToUsd(point.costMicros), spentMicros: exact(point.costMicros) })),
  };
}

export function usageView(range: { from: Date; to: Date }, groupBy: UsageGrouping, totals: UsageTotal[]) {
  const total = totals.reduce((sum, row) => sum + row.costMicros, 0n);
  return {
    from: range.from,
    to: range.to,
    groupBy,
    calls: totals.reduce((sum, row) => sum + row.calls, 0),
    costUsd: microsToUsd(total),
    costMicros: exact(total),
    groups: totals.map(({ costMicros, ...row }) => ({ ...row, costUsd: microsToUsd(costMicros), costMicros: exact(costMicros) })),
  };
}

export type CostsView = ReturnType<typeof costsView>;
export type BudgetView = ReturnType<typeof budgetView>;
export type BudgetBurnDownView = ReturnType<typeof budgetBurnDownView>;
export type UsageReport = ReturnType<typeof usageView>;
