import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { AuditActor } from '@gatehouse/audit';
import type { AuthenticatedRequest, Principal } from '@gatehouse/identity';

/** Who did it, as the audit log records it: the credential, the person behind it, and where the request came from. */
export function auditActorOf(principal: Principal, origin: { ip: string | null; userAgent: string | null }): AuditActor {
  const viaOAuth = principal.kind === 'oauth';
  return {
    type: viaOAuth ? 'oauth_client' : 'api_key',
    id: viaOAuth ? (principal.client?.clientId ?? principal.apiKeyId) : principal.apiKeyId,
    name: viaOAuth ? (principal.client?.name ?? principal.name) : principal.name,
    ip: origin.ip,
    userAgent: origin.userAgent,
    user: principal.userId || principal.userEmail ? { id: principal.userId, email: principal.userEmail } : null,
  };
}

/** The authenticated caller as an audit actor (route must be @Authenticated). */
export const CurrentAuditActor = createParamDecorator((_: unknown, context: ExecutionContext): AuditActor => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  // request.ip honours GATEHOUSE_TRUST_PROXY.
  return auditActorOf(request.principal, { ip: request.ip ?? null, userAgent: request.get('user-agent') ?? null });
});
