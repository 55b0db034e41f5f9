import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { AuditActor } from '@gatehouse/audit';
import { auditActorOf, AuthenticatedRequest } from '@gatehouse/identity';

/** The authenticated caller as an audit actor (route must be @Authenticated). */
export const CurrentAuditActor = createParamDecorator((_: unknown, context: ExecutionContext): AuditActor => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  // request.ip honours GATEHOUSE_TRUST_PROXY.
  return auditActorOf(request.principal, { ip: request.ip ?? null, userAgent: request.get('user-agent') ?? null });
});
