import { BudgetPeriodName } from '@gatehouse/config';

/** One period of a budget, in UTC: a day (key 2026-11-30) or a calendar month (key 2026-11). */
export interface BudgetWindow {
  period: BudgetPeriodName;
  key: string;
  start: Date;
  /** Exclusive: the next period's start. */
  end: Date;
}

export function budgetWindow(period: BudgetPeriodName, at: Date): BudgetWindow {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  if (period === 'month') {
    return { period, key: at.toISOString().slice(0, 7), start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
  }
  const day = at.getUTCDate();
  return { period, key: at.toISOString().slice(0, 10), start: new Date(Date.UTC(year, month, day)), end: new Date(Date.UTC(year, month, day + 1)) };
}
