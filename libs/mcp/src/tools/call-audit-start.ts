import type { CallAuditStart, CallTarget } from '@gatehouse/audit';
import { auditActorOf, Principal } from '@gatehouse/identity';
import type { CallContext } from './tool-call.dispatcher';

/** What the audit of a call takes from the exchange that carries it. */
export type AuditContext = Pick<CallContext, 'traceId' | 'approvalRequestId' | 'workflow' | 'endpoint'>;

/** The audit of a call as whoever made it, from wherever its HTTP request came. */
export function callAuditStart(
  principal: Principal,
  context: AuditContext,
  target: CallTarget,
  args: Record<string, unknown>,
  redactPaths?: readonly string[],
): CallAuditStart {
  return {
    organizationId: principal.organizationId,
    actor: auditActorOf(principal),
    target,
    traceId: context.traceId ?? null,
    arguments: args,
    ...(redactPaths ? { redactPaths } : {}),
    ...(context.approvalRequestId ? { approvalId: context.approvalRequestId } : {}),
    ...(context.workflow ? { workflow: context.workflow } : {}),
    ...(context.endpoint?.name ? { endpoint: context.endpoint.name } : {}),
  };
}
