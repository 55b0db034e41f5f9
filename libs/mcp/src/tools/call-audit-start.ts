import type { CallAuditStart, CallTarget } from '@gatehouse/audit';
import { auditActorOf, Principal } from '@gatehouse/identity';
import type { CallContext } from './tool-call.dispatcher';

/** The audit of a call as whoever made it, from wherever its HTTP request came. */
export function callAuditStart(
  principal: Principal,
  context: CallContext,
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
  };
}
