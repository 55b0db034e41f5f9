import { CALL_OUTCOME_KIND, CALL_REQUEST_KIND } from '../calls/call-audit';
import type { AuditEvent } from '../record/audit-event';

export const CALL_STEPS = ['request', 'policy', 'approval', 'budget', 'outcome'] as const;
export type CallStepName = (typeof CALL_STEPS)[number];

/**
 * One step of a tools/call as its records tell it. at is null for a step with no record of its own: the policy
 * decision and the budget are written into the outcome record.
 */
export interface CallStep {
  step: CallStepName;
  at: string | null;
  outcome: string | null;
  /** The record the step comes from. */
  eventId: string;
  detail: Record<string, unknown>;
}

export interface CallTimeline {
  callId: string;
  /** False while the call has no outcome record (still running, or interrupted before the reconciler ran). */
  complete: boolean;
  steps: CallStep[];
  /** The call's records and its approval request's, oldest first. */
  records: AuditEvent[];
}

/** The approval request a call waited on or ran after, as its records name it. */
export function approvalIdOf(records: readonly AuditEvent[]): string | undefined {
  for (const record of records) {
    const id = record.data['approvalId'];
    if (typeof id === 'string') return id;
  }
  return undefined;
}

/** request → policy decision → approval → budget → downstream outcome, from a call's records and its approval's. */
export function callTimeline(callId: string, records: readonly AuditEvent[], approvals: readonly AuditEvent[]): CallTimeline {
  const request = records.find((record) => record.kind === CALL_REQUEST_KIND);
  const outcome = records.find((record) => record.kind === CALL_OUTCOME_KIND);
  const data = outcome?.data ?? {};
  const steps: CallStep[] = [];
  if (request) steps.push({ step: 'request', at: request.occurredAt, outcome: null, eventId: request.eventId, detail: request.data });
  // A call refused before the decision (throttled, invalid arguments, read-only) has no policy step.
  if (outcome && data['decision'] !== undefined) {
    steps.push({ step: 'policy', at: null, outcome: String(data['decision']), eventId: outcome.eventId, detail: { rule: data['rule'] ?? null } });
  }
  for (const approval of approvals) {
    steps.push({ step: 'approval', at: approval.occurredAt, outcome: approval.outcome, eventId: approval.eventId, detail: { kind: approval.kind, actor: approval.actor, ...approval.data } });
  }
  if (outcome && (data['costMicros'] !== undefined || outcome.outcome === 'budget_blocked')) {
    const charged = data['costMicros'] !== undefined;
    steps.push({
      step: 'budget',
      at: null,
      outcome: charged ? 'charged' : 'blocked',
      eventId: outcome.eventId,
      detail: charged ? { costMicros: data['costMicros'], costUsd: data['costUsd'] } : { error: data['error'] ?? null },
    });
  }
  if (outcome) {
    const { latencyMs, error, resultBytes, limit, truncated } = data;
    const detail = Object.fromEntries(Object.entries({ latencyMs, error, resultBytes, limit, truncated }).filter(([, value]) => value !== undefined));
    steps.push({ step: 'outcome', at: outcome.occurredAt, outcome: outcome.outcome, eventId: outcome.eventId, detail });
  }
  const all = [...records, ...approvals].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
  return { callId, complete: outcome !== undefined, steps, records: all };
}
