import { BudgetScopeName, formatUsd } from '@gatehouse/config';
import type { StoredBudget } from '@gatehouse/db';

/** Who makes a call and where it goes, as budgets name them. */
export interface BudgetSubject {
  connection: string;
  /** Lower-case email of the person behind the credential, if any. */
  userEmail: string | null;
  /** The API key's name (for an OAuth grant, its "MCP — <client>" key), as policies name keys too. */
  apiKeyName: string;
}

// The order in which budgets are checked, and so the one named when several would block a call.
const SCOPE_ORDER: Record<BudgetScopeName, number> = { organization: 0, connection: 1, member: 2, api_key: 3 };

export function budgetApplies(budget: StoredBudget, subject: BudgetSubject): boolean {
  switch (budget.scope) {
    case 'organization':
      return true;
    case 'connection':
      return budget.scopeRef === subject.connection;
    case 'member':
      return subject.userEmail !== null && budget.scopeRef === subject.userEmail;
    case 'api_key':
      return budget.scopeRef === subject.apiKeyName;
  }
}

/** The budgets a call counts against, broadest first, monthly before daily. */
export function applicableBudgets(budgets: readonly StoredBudget[], subject: BudgetSubject): StoredBudget[] {
  return budgets
    .filter((budget) => budgetApplies(budget, subject))
    .sort((a, b) => SCOPE_ORDER[a.scope] - SCOPE_ORDER[b.scope] || (a.period === b.period ? 0 : a.period === 'month' ? -1 : 1));
}

const SUBJECT_LABELS: Record<Exclude<BudgetScopeName, 'organization'>, string> = { connection: 'connection', member: 'member', api_key: 'API key' };

/** "Operation blocked: monthly budget limit reached ($100.00)", naming the connection, member or key of a narrower budget. */
export function budgetBlockedMessage(budget: Pick<StoredBudget, 'scope' | 'scopeRef' | 'period' | 'limitMicros'>): string {
  const period = budget.period === 'day' ? 'daily' : 'monthly';
  const of = budget.scope === 'organization' ? '' : ` of ${SUBJECT_LABELS[budget.scope]} "${budget.scopeRef}"`;
  return `Operation blocked: ${period} budget limit${of} reached (${formatUsd(budget.limitMicros)})`;
}

/** The spend, in micro-dollars, at which a budget's alert at `fraction` of its limit goes out. */
export function alertThreshold(limitMicros: bigint, fraction: number): bigint {
  return BigInt(Math.round(Number(limitMicros) * fraction));
}
