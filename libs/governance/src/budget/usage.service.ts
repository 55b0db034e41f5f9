import { Injectable } from '@nestjs/common';
import { GatehouseError } from '@gatehouse/config';
import { UsageRepository } from '@gatehouse/db';
import { budgetWindow } from './budget-period';
import { UsageQuery, UsageReport, usageView } from './budget.dto';
import { UsageRecorder } from './usage.recorder';

// Spend and calls for a time range, by connection, tool or member: the admin API's and gatehouse_get_usage_stats'.
@Injectable()
export class UsageService {
  constructor(
    private readonly usage: UsageRepository,
    private readonly recorder: UsageRecorder,
  ) {}

  async report(organizationId: string, query: UsageQuery, now = new Date()): Promise<UsageReport> {
    const month = budgetWindow('month', now);
    const range = { from: query.from ?? month.start, to: query.to ?? month.end };
    if (range.from >= range.to) throw GatehouseError.invalid('"from" must be before "to"');
    // This replica's latest calls are in the report; other replicas' follow within a fraction of a second.
    await this.recorder.flush();
    return usageView(range, query.groupBy, await this.usage.totals(organizationId, range, query.groupBy));
  }
}
