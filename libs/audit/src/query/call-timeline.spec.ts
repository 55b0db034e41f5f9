import type { AuditEvent } from '../record/audit-event';
import { approvalIdOf, callTimeline } from './call-timeline';

const CALL = '6f1f6f1e-5b1a-4c8e-9f00-0123456789ab';
const APPROVAL = '7f1f6f1e-5b1a-4c8e-9f00-0123456789ab';

const event = (n: number, kind: string, outcome: string | null, data: Record<string, unknown>): AuditEvent => ({
  eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  organizationId: '00000000-0000-4000-8000-0000000000aa',
  seq: String(n),
  occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  kind,
  actor: { type: 'api_key', id: 'k1', name: 'ci' },
  target: { type: 'tool', connection: 'everything', tool: 'everything_echo' },
  outcome,
  traceId: null,
  callId: kind.startsWith('tools.call.') ? CALL : null,
  data,
  prevHash: null,
  hash: null,
});

describe('callTimeline', () => {
  it('tells an allowed, charged call as request, policy, budget and outcome', () => {
    const request = event(1, 'tools.call.request', null, { arguments: { message: 'hi' } });
    const outcome = event(2, 'tools.call.outcome', 'ok', { outcome: 'ok', decision: 'allow', rule: { id: null, name: 'default' }, costMicros: 1500, costUsd: 0.0015, latencyMs: 3.2 });
    const timeline = callTimeline(CALL, [request, outcome], []);
    expect(timeline.complete).toBe(true);
    expect(timeline.steps.map((step) => [step.step, step.outcome])).toEqual([
      ['request', null],
      ['policy', 'allow'],
      ['budget', 'charged'],
      ['outcome', 'ok'],
    ]);
    expect(timeline.steps[0]!.detail).toEqual({ arguments: { message: 'hi' } });
    expect(timeline.steps[2]!.detail).toEqual({ costMicros: 1500, costUsd: 0.0015 });
    expect(timeline.steps[3]!.detail).toEqual({ latencyMs: 3.2 });
  });

  it('puts the approval request between the decision and the outcome, and the records in time order', () => {
    const request = event(1, 'tools.call.request', null, {});
    const outcome = event(2, 'tools.call.outcome', 'approval_required', { decision: 'require_approval', rule: { id: 'r1', name: 'hold' }, approvalId: APPROVAL });
    const requested = event(3, 'approval.requested', 'pending', { expiresAt: '2026-01-01T01:00:00Z' });
    const approved = event(4, 'approval.approved', 'approved', {});
    expect(approvalIdOf([request, outcome])).toBe(APPROVAL);
    const timeline = callTimeline(CALL, [request, outcome], [requested, approved]);
    expect(timeline.steps.map((step) => step.step)).toEqual(['request', 'policy', 'approval', 'approval', 'outcome']);
    expect(timeline.records.map((record) => record.seq)).toEqual(['1', '2', '3', '4']);
  });

  it('has no policy step for a call refused before the decision, and is incomplete without an outcome', () => {
    const request = event(1, 'tools.call.request', null, {});
    expect(callTimeline(CALL, [request], [])).toMatchObject({ complete: false, steps: [{ step: 'request' }] });
    const throttled = event(2, 'tools.call.outcome', 'throttled', { error: 'slow down', limit: { name: 'rate', retryAfterSeconds: 1 } });
    expect(callTimeline(CALL, [request, throttled], []).steps.map((step) => step.step)).toEqual(['request', 'outcome']);
  });
});
