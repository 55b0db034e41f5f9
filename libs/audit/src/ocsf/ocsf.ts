import type { AuditEvent } from '../record/audit-event';

// OCSF API Activity (class 6003, category 6 "Application Activity"), schema version 1.3.0.
const OCSF_VERSION = '1.3.0';
const CLASS_UID = 6003;

const ACTIVITIES = { create: [1, 'Create'], read: [2, 'Read'], update: [3, 'Update'], delete: [4, 'Delete'], other: [99, 'Other'] } as const;

// The last word of a kind says what kind of activity it was: admin.api_key.created, tools.list, auth.token.revoked,
// prompts.get, resources.read, resources.subscribe, completion.complete.
function activityOf(kind: string): (typeof ACTIVITIES)[keyof typeof ACTIVITIES] {
  const verb = kind.slice(kind.lastIndexOf('.') + 1);
  if (/^(created|issued|started|added|registered|requested|subscribe)$/.test(verb)) return ACTIVITIES.create;
  if (/^(list|read|get|complete|viewed|exported|verified)$/.test(verb)) return ACTIVITIES.read;
  if (/^(updated|changed|refreshed|approved|denied|decided|accepted|replaced)$/.test(verb)) return ACTIVITIES.update;
  if (/^(deleted|revoked|removed|ended|expired|pruned|unsubscribe)$/.test(verb)) return ACTIVITIES.delete;
  return ACTIVITIES.other;
}

export const SUCCESS_OUTCOMES: ReadonlySet<string> = new Set(['success', 'ok', 'allowed', 'approved']);
const UNKNOWN = new Set(['pending', 'approval_required']);
// Outcomes a security team wants to see first.
export const NOTABLE_OUTCOMES: ReadonlySet<string> = new Set(['denied', 'failure', 'unauthenticated', 'forbidden', 'budget_blocked', 'audit_failed', 'interrupted', 'throttled']);

function statusOf(outcome: string | null): { status_id: number; status: string } {
  if (outcome === null || UNKNOWN.has(outcome)) return { status_id: 0, status: 'Unknown' };
  return SUCCESS_OUTCOMES.has(outcome) ? { status_id: 1, status: 'Success' } : { status_id: 2, status: 'Failure' };
}

interface Actor {
  type?: string;
  id?: string | null;
  name?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  user?: { id?: string | null; email?: string | null } | null;
}

interface Target {
  type?: string;
  id?: string | null;
  name?: string | null;
  connection?: string;
  tool?: string;
}

const compact = <T extends Record<string, unknown>>(object: T): Partial<T> =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== null && value !== undefined && value !== '')) as Partial<T>;

/** A Gatehouse audit record as an OCSF API Activity event; whatever has no OCSF attribute goes in `unmapped`. */
export function toOcsf(event: AuditEvent, productVersion: string): Record<string, unknown> {
  const [activityId, activityName] = activityOf(event.kind);
  const actor = (event.actor ?? {}) as Actor;
  const target = (event.target ?? null) as Target | null;
  const viaClient = actor.type === 'oauth_client' || actor.type === 'api_key';
  const notable = event.outcome !== null && NOTABLE_OUTCOMES.has(event.outcome);
  const user = compact({
    uid: actor.user?.id ?? (viaClient ? null : actor.id),
    email_addr: actor.user?.email ?? null,
    name: viaClient ? (actor.user?.email ?? null) : (actor.name ?? null),
    type: actor.type === 'system' ? 'System' : 'User',
    type_id: actor.type === 'system' ? 3 : 1,
  });
  return {
    class_uid: CLASS_UID,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: CLASS_UID * 100 + activityId,
    type_name: `API Activity: ${activityName}`,
    time: Date.parse(event.occurredAt),
    severity_id: notable ? 3 : 1,
    severity: notable ? 'Medium' : 'Informational',
    ...statusOf(event.outcome),
    ...(event.outcome ? { status_detail: event.outcome } : {}),
    metadata: compact({
      version: OCSF_VERSION,
      uid: event.eventId,
      correlation_uid: event.callId ?? event.traceId,
      sequence: event.seq === null ? null : Number(event.seq),
      event_code: event.kind,
      log_name: 'gatehouse.audit',
      tenant_uid: event.organizationId,
      product: { name: 'Gatehouse', vendor_name: 'Gatehouse', version: productVersion },
    }),
    actor: compact({
      user,
      ...(viaClient ? { app_name: actor.name ?? null, app_uid: actor.id ?? null } : {}),
    }),
    api: compact({
      operation: event.kind,
      service: { name: target?.connection ?? 'gatehouse' },
      request: { uid: event.callId ?? event.eventId },
    }),
    cloud: { provider: 'Gatehouse' },
    src_endpoint: compact({ ip: actor.ip ?? null }),
    ...(actor.userAgent ? { http_request: { user_agent: actor.userAgent } } : {}),
    ...(target
      ? { resources: [compact({ type: target.type ?? null, uid: target.id ?? target.tool ?? null, name: target.name ?? target.tool ?? null })] }
      : {}),
    unmapped: compact({
      gatehouse_kind: event.kind,
      gatehouse_actor: event.actor,
      gatehouse_target: event.target,
      gatehouse_outcome: event.outcome,
      gatehouse_data: event.data,
      gatehouse_trace_id: event.traceId,
      gatehouse_seq: event.seq,
      gatehouse_hash: event.hash,
      gatehouse_prev_hash: event.prevHash,
    }),
  };
}
