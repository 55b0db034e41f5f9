import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '@gatehouse/db';

// Refusals by the per-credential and per-organization limits (platform.limits), named by their setting.
@Injectable()
export class LimitMetrics {
  private readonly refusals = new Counter({
    name: 'gatehouse_limit_refusals_total',
    help: 'Requests refused by a per-credential or per-organization limit (platform.limits), by limit',
    labelNames: ['organization', 'limit'] as const,
    registers: [],
  });

  private readonly unrecorded = new Counter({
    name: 'gatehouse_limit_refusals_unrecorded_total',
    help: 'Refused tools/calls not recorded in the audit log, because a refusal of the same credential already was in this window',
    labelNames: ['organization', 'limit'] as const,
    registers: [],
  });

  constructor(registry: MetricsRegistry) {
    registry.registerMetric(this.refusals);
    registry.registerMetric(this.unrecorded);
  }

  refused(organization: string, limit: string, count = 1): void {
    this.refusals.inc({ organization, limit }, count);
  }

  notRecorded(organization: string, limit: string, count = 1): void {
    this.unrecorded.inc({ organization, limit }, count);
  }
}
