import { Injectable, Logger } from '@nestjs/common';
import { StoredBudget, UsageRepository } from '@gatehouse/db';
import type { Principal } from '@gatehouse/identity';
import { BudgetAlerts } from './budget-alerts.service';
import { BudgetCounter, BudgetCounters } from './budget-counters';
import { budgetWindow } from './budget-period';
import { applicableBudgets, budgetBlockedMessage, BudgetSubject } from './budget-rules';
import { BudgetSettings } from './budget-settings.service';
import { budgetBurnDownView, BudgetBurnDownView, BudgetsInput, budgetView, BudgetView } from './budget.dto';
import { UsageRecorder } from './usage.recorder';

/** A call about to go downstream. */
export interface BudgetedCall {
  principal: Principal;
  connection: string;
  /** The downstream tool's name. */
  tool: string;
  approvalRequestId?: string;
}

/** A call's price and the budgets it would count against, with what each has spent this period. */
export interface CostProjection {
  costMicros: bigint;
  budgets: { budget: StoredBudget; spentMicros: bigint }[];
}

export type BudgetDecision = { blocked: true; message: string } | { blocked: false; reservation: BudgetReservation };

/** A call's budget reservation: settled when the call was made, released when it was not. Ends once. */
export class BudgetReservation {
  private ended = false;

  constructor(
    /** The call's price: what a settled call is charged. */
    readonly costMicros: bigint,
    private readonly end: (charged: boolean, outcome: string) => Promise<void>,
  ) {}

  /** The downstream answered (with a result, an isError result or a malformed one): the call costs its price. */
  settle(outcome: string): Promise<void> {
    return this.finish(true, outcome);
  }

  /** The downstream did not answer (unavailable, timed out, cancelled, refused the request): the call costs nothing. */
  release(outcome: string): Promise<void> {
    return this.finish(false, outcome);
  }

  private finish(charged: boolean, outcome: string): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.ended = true;
    return this.end(charged, outcome);
  }
}

export function budgetSubject(principal: Principal, connection: string): BudgetSubject {
  return { connection, userEmail: principal.userEmail?.toLowerCase() ?? null, apiKeyName: principal.name };
}

// Step 5 of the call pipeline (DESIGN.md): reserve the call's price against every budget it counts toward,
// atomically across replicas, before anything leaves the gateway; settle or release it after.
@Injectable()
export class BudgetService {
  private readonly logger = new Logger(BudgetService.name);

  constructor(
    private readonly settings: BudgetSettings,
    private readonly counters: BudgetCounters,
    private readonly usage: UsageRepository,
    private readonly recorder: UsageRecorder,
    private readonly alerts: BudgetAlerts,
  ) {}

  /** `now` decides the period the call counts in (a parameter so that tests can move through time). */
  async reserve(call: BudgetedCall, now = new Date()): Promise<BudgetDecision> {
    const { principal } = call;
    const settings = await this.settings.forOrganization(principal.organizationId);
    const cost = settings.costs.costOf(call.connection, call.tool);
    // A free call cannot take any budget past its limit: it is never blocked and touches no counter.
    const budgets = cost > 0n ? applicableBudgets(settings.budgets, budgetSubject(principal, call.connection)) : [];
    const counters = budgets.map((budget) => this.counter(principal.organizationId, budget, now));
    const organization = { id: principal.organizationId, slug: principal.organizationSlug };
    if (counters.length) {
      const reserved = await this.counters.reserve(counters, cost, now);
      if (!reserved.ok) {
        const budget = budgets[reserved.index]!;
        this.alerts.blocked(organization, budget, counters[reserved.index]!.window, reserved.spent);
        return { blocked: true, message: budgetBlockedMessage(budget) };
      }
      budgets.forEach((budget, i) => this.alerts.reserved(organization, budget, counters[i]!.window, reserved.spent[i]! - cost, reserved.spent[i]!));
    }
    return { blocked: false, reservation: this.reservation(call, counters, cost, now) };
  }

  /**
   * What one call would cost, and where each budget it counts against stands now: the approvals inbox's projection.
   * `spent` memoizes the budgets' counters across the requests of one list.
   */
  async projection(organizationId: string, subject: BudgetSubject, tool: string, spent = new Map<string, Promise<bigint>>(), now = new Date()): Promise<CostProjection> {
    const settings = await this.settings.forOrganization(organizationId);
    const budgets = applicableBudgets(settings.budgets, subject);
    const spentNow = (budget: StoredBudget) => {
      const counter = this.counter(organizationId, budget, now);
      const known = spent.get(counter.key) ?? this.counters.spent(counter, now);
      spent.set(counter.key, known);
      return known;
    };
    return { costMicros: settings.costs.costOf(subject.connection, tool), budgets: await Promise.all(budgets.map(async (budget) => ({ budget, spentMicros: await spentNow(budget) }))) };
  }

  /** Every budget with what was spent in its current period. */
  async overview(organizationId: string, now = new Date()): Promise<{ configManaged: boolean; budgets: BudgetView[] }> {
    const budgets = await this.settings.budgets(organizationId);
    const views = await Promise.all(
      budgets.map(async (budget) => {
        const counter = this.counter(organizationId, budget, now);
        return budgetView(budget, counter.window, await this.counters.spent(counter, now));
      }),
    );
    return { configManaged: budgets.some((budget) => budget.configManaged), budgets: views };
  }

  /**
   * Every budget's current period as it burned down. A budget's counter holds what was recorded plus what calls under
   * way reserved, so the difference is the reservations in flight (read the counter first: a call that settles in
   * between is then in both, not in neither). Another replica's calls that ended less than a flush ago count as in
   * flight until their records are written.
   */
  async burnDown(organizationId: string, now = new Date()): Promise<{ configManaged: boolean; budgets: BudgetBurnDownView[] }> {
    const budgets = await this.settings.budgets(organizationId);
    const views = await Promise.all(
      budgets.map(async (budget) => {
        const counter = this.counter(organizationId, budget, now);
        const reserved = await this.counters.spent(counter, now);
        await this.recorder.flush();
        const bucket = budget.period === 'day' ? 'hour' : 'day';
        const range = { from: counter.window.start, to: counter.window.end, until: now };
        const points = await this.usage.cumulativeSpent(organizationId, budget.scope, budget.scopeRef, range, bucket);
        const recorded = points.at(-1)?.costMicros ?? 0n;
        const inFlight = reserved > recorded ? reserved - recorded : 0n;
        return budgetBurnDownView(budgetView(budget, counter.window, reserved), bucket, points, inFlight);
      }),
    );
    return { configManaged: budgets.some((budget) => budget.configManaged), budgets: views };
  }

  /** Replaces the organization's budgets (admin API); refused when the config file owns them. */
  async replace(organizationId: string, input: BudgetsInput): Promise<{ configManaged: boolean; budgets: BudgetView[] }> {
    await this.settings.replaceBudgets(organizationId, input);
    return this.overview(organizationId);
  }

  // Settled: the usage record carries the price. Released: the counters give it back and the record says 0.
  private reservation(call: BudgetedCall, counters: BudgetCounter[], cost: bigint, now: Date): BudgetReservation {
    const { principal } = call;
    return new BudgetReservation(cost, async (charged, outcome) => {
      if (!charged) {
        await this.counters.release(counters, cost).catch((error: unknown) =>
          this.logger.error({ err: error, organizationId: principal.organizationId }, 'Could not release a budget reservation'),
        );
      }
      this.recorder.record({
        organizationId: principal.organizationId,
        occurredAt: now,
        connection: call.connection,
        tool: call.tool,
        principalSubject: principal.subject,
        userEmail: principal.userEmail,
        apiKeyId: principal.apiKeyId,
        costMicros: charged ? cost : 0n,
        outcome,
        approvalRequestId: call.approvalRequestId ?? null,
      });
    });
  }

  private counter(organizationId: string, budget: StoredBudget, now: Date): BudgetCounter {
    const window = budgetWindow(budget.period, now);
    return {
      key: this.counters.key(organizationId, budget.id, window),
      limitMicros: budget.limitMicros,
      window,
      // This replica's latest rows first; other replicas' may lag by a fraction of a second (UsageRecorder).
      rebuild: async () => {
        await this.recorder.flush();
        return this.usage.spent(organizationId, budget.scope, budget.scopeRef, { from: window.start, to: window.end });
      },
    };
  }
}
