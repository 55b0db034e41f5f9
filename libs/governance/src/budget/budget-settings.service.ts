import { Injectable, OnModuleInit } from '@nestjs/common';
import { GatehouseError } from '@gatehouse/config';
import { BudgetRepository, ClusterBus, StoredBudget } from '@gatehouse/db';
import { BudgetsInput, CostsInput, costsView, CostsView, toBudgetRows, toCostRows } from './budget.dto';
import { CostTable } from './cost-table';

const CHANNEL = 'budgets';
// Changes reach every replica through the cluster bus at once; this only bounds a lost message.
const TTL_MS = 60_000;

/** What the call pipeline needs of an organization's budgets, loaded once and shared by its calls. */
export interface OrganizationBudgets {
  costs: CostTable;
  budgets: StoredBudget[];
}

interface Entry {
  settings: Promise<OrganizationBudgets>;
  loadedAt: number;
}

// Each organization's prices and budgets, cached per replica; a change made anywhere applies to the next call
// on every replica.
@Injectable()
export class BudgetSettings implements OnModuleInit {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly repository: BudgetRepository,
    private readonly bus: ClusterBus,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (event) => this.cache.delete((event as { organizationId: string }).organizationId));
  }

  forOrganization(organizationId: string): Promise<OrganizationBudgets> {
    const entry = this.cache.get(organizationId);
    if (entry && Date.now() - entry.loadedAt < TTL_MS) return entry.settings;
    const settings = Promise.all([this.repository.costs(organizationId), this.repository.budgets(organizationId)]).then(([costs, budgets]) => ({
      costs: new CostTable(costs),
      budgets,
    }));
    settings.catch(() => this.cache.delete(organizationId));
    this.cache.set(organizationId, { settings, loadedAt: Date.now() });
    return settings;
  }

  async costs(organizationId: string): Promise<CostsView> {
    return costsView(await this.repository.costs(organizationId));
  }

  budgets(organizationId: string): Promise<StoredBudget[]> {
    return this.repository.budgets(organizationId);
  }

  /** Replaces the organization's prices (admin API); refused when the config file owns them. */
  async replaceCosts(organizationId: string, input: CostsInput): Promise<CostsView> {
    if ((await this.repository.managedByConfig(organizationId)).costs) {
      throw GatehouseError.conflict("This organization's costs are managed by the config file; change them there");
    }
    await this.repository.replaceCosts(organizationId, toCostRows(input.costs), false);
    await this.changed(organizationId);
    return this.costs(organizationId);
  }

  /** Replaces the organization's budgets (admin API); refused when the config file owns them. */
  async replaceBudgets(organizationId: string, input: BudgetsInput): Promise<void> {
    if ((await this.repository.managedByConfig(organizationId)).budgets) {
      throw GatehouseError.conflict("This organization's budgets are managed by the config file; change them there");
    }
    await this.repository.replaceBudgets(organizationId, toBudgetRows(input.budgets), false);
    await this.changed(organizationId);
  }

  /** Prices or budgets changed (here or by the config file): every replica reloads them before its next call. */
  async changed(organizationId: string): Promise<void> {
    this.cache.delete(organizationId);
    await this.bus.publish(CHANNEL, { organizationId });
  }
}
