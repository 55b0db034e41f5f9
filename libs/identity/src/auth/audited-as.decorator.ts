import { SetMetadata } from '@nestjs/common';

export const AUDITED_AS = 'gatehouse:audited-as';

/** An admin API change as the audit log names it, and what it changes. */
export interface AuditedAction {
  /** e.g. admin.connection.created */
  kind: string;
  /** The type of the object changed, e.g. connection; its id is the route's :id (or `param`), when it has one. */
  target: string;
  param?: string;
  /**
   * More fields of the response to record than the ones that name it: what the change makes the gateway run or
   * reach (a connection's transport, origin, command and arguments). Never fields that hold secrets.
   */
  records?: readonly string[];
}

/**
 * Marks a mutating admin route: every call is recorded, after it succeeds or when it fails (including a 403
 * from the permission check). Requires an authenticated route.
 */
export function AuditedAs(kind: string, options: { target: string; param?: string; records?: readonly string[] }) {
  return SetMetadata(AUDITED_AS, { kind, ...options } satisfies AuditedAction);
}

/** The target of a change from the route alone (before the handler ran, or when it failed). */
export function auditedTarget(action: AuditedAction, params: Record<string, unknown>): Record<string, unknown> {
  const id = params[action.param ?? 'id'];
  return { type: action.target, ...(typeof id === 'string' ? { id } : {}) };
}
