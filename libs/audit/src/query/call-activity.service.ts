import { Injectable } from '@nestjs/common';
import { AuditQueryRepository } from '@gatehouse/db';
import { CALL_OUTCOME_KIND, CallAuditOutcome } from '../calls/call-audit';

export const ACTIVITY_HOURS = 24;

// Latency is the time to an answer of calls that went to their downstream; refusals (policy, approval, budget,
// limits, bad arguments) answer in a millisecond and would pull the percentiles towards zero.
const FORWARDED: readonly CallAuditOutcome[] = ['ok', 'tool_error', 'error', 'timeout', 'cancelled'];

export interface HourOfCalls {
  /** The start of the hour (UTC). */
  hour: Date;
  total: number;
  /** Calls by outcome (ok, denied, approval_required, ...): only outcomes that occurred. */
  outcomes: Record<string, number>;
}

export interface CallActivity {
  from: Date;
  to: Date;
  /** The last ACTIVITY_HOURS whole hours, the current one last (partial), oldest first; hours without calls count 0. */
  hours: HourOfCalls[];
  total: number;
  outcomes: Record<string, number>;
  /** Over the window's forwarded calls; null when there were none. */
  latency: { p50Ms: number | null; p95Ms: number | null };
}

// tools/call outcomes over the last day, from the audit log: one indexed SQL pass, whatever the log's size.
@Injectable()
export class CallActivityService {
  constructor(private readonly records: AuditQueryRepository) {}

  async lastDay(organizationId: string, now = new Date()): Promise<CallActivity> {
    const currentHour = Math.floor(now.getTime() / 3_600_000) * 3_600_000;
    const from = new Date(currentHour - (ACTIVITY_HOURS - 1) * 3_600_000);
    const rows = await this.records.callActivity(organizationId, CALL_OUTCOME_KIND, from, now, FORWARDED);
    const hours: HourOfCalls[] = Array.from({ length: ACTIVITY_HOURS }, (_, index) => ({ hour: new Date(from.getTime() + index * 3_600_000), total: 0, outcomes: {} }));
    const outcomes: Record<string, number> = {};
    let total = 0;
    for (const row of rows.counts) {
      const hour = hours[row.hour];
      if (!hour) continue;
      hour.total += row.calls;
      hour.outcomes[row.outcome] = (hour.outcomes[row.outcome] ?? 0) + row.calls;
      outcomes[row.outcome] = (outcomes[row.outcome] ?? 0) + row.calls;
      total += row.calls;
    }
    const rounded = (ms: number | null) => (ms === null ? null : Math.round(ms * 10) / 10);
    return { from, to: now, hours, total, outcomes, latency: { p50Ms: rounded(rows.p50Ms), p95Ms: rounded(rows.p95Ms) } };
  }
}
