import { Injectable, Logger } from '@nestjs/common';
import { budgetScopeFields, microsToUsd } from '@gatehouse/config';
import { BudgetRepository, StoredBudget } from '@gatehouse/db';
import { WebhookService } from '../webhook/webhook.service';
import { BudgetWindow } from './budget-period';
import { alertThreshold } from './budget-rules';

const MEMORY = 10_000;

export interface AlertOrganization {
  id: string;
  slug: string;
}

// budget.alert: once per budget, period and threshold. The BudgetAlert row is the "once" across replicas;
// an in-process memory spares the database the repeats (every call blocked after the limit would ask again).
@Injectable()
export class BudgetAlerts {
  private readonly logger = new Logger(BudgetAlerts.name);
  private readonly raised = new Set<string>();

  constructor(
    private readonly budgets: BudgetRepository,
    private readonly webhooks: WebhookService,
  ) {}

  /** A reservation took the spend from `before` to `after`: alert at each threshold it crossed. */
  reserved(organization: AlertOrganization, budget: StoredBudget, window: BudgetWindow, before: bigint, after: bigint): void {
    for (const fraction of budget.alertAt) {
      const threshold = alertThreshold(budget.limitMicros, fraction);
      if (before < threshold && after >= threshold) this.raise(organization, budget, window, fraction, after, false);
    }
  }

  /**
   * A call was blocked by this budget: its limit is reached for every practical purpose even when the spend is
   * not exactly at it (prices that do not divide the limit), so the 100% alert goes out if it has not.
   */
  blocked(organization: AlertOrganization, budget: StoredBudget, window: BudgetWindow, spent: bigint): void {
    if (budget.alertAt.includes(1)) this.raise(organization, budget, window, 1, spent, true);
  }

  private raise(organization: AlertOrganization, budget: StoredBudget, window: BudgetWindow, fraction: number, spent: bigint, blocked: boolean): void {
    const memo = `${budget.id}|${window.key}|${fraction}`;
    if (this.raised.has(memo)) return;
    if (this.raised.size >= MEMORY) this.raised.clear();
    this.raised.add(memo);
    this.send(organization, budget, window, fraction, spent, blocked).catch((error: unknown) => {
      // Forgotten, so that a later call may try again.
      this.raised.delete(memo);
      this.logger.error({ err: error, budgetId: budget.id, period: window.key, threshold: fraction }, 'Could not raise a budget alert');
    });
  }

  private async send(organization: AlertOrganization, budget: StoredBudget, window: BudgetWindow, fraction: number, spent: bigint, blocked: boolean) {
    const alertId = await this.budgets.recordAlert(organization.id, budget.id, window.start, fraction);
    if (!alertId) return;
    this.logger.log({ organizationId: organization.id, budgetId: budget.id, period: window.key, threshold: fraction }, 'Budget alert');
    await this.webhooks.emit(
      organization.id,
      'budget.alert',
      {
        organization: { id: organization.id, slug: organization.slug },
        budget: {
          id: budget.id,
          scope: budget.scope,
          ...budgetScopeFields(budget.scope, budget.scopeRef),
          period: budget.period,
          limitUsd: microsToUsd(budget.limitMicros),
          limitMicros: Number(budget.limitMicros),
        },
        threshold: fraction,
        period: { key: window.key, start: window.start, end: window.end },
        spentUsd: microsToUsd(spent),
        spentMicros: Number(spent),
        // true when a call was refused by this budget.
        blocked,
      },
      alertId,
    );
  }
}
