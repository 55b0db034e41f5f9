import type { AuditActor } from '@gatehouse/audit';
import type { Principal } from './principal';

/** Where a request came from: the client address (honouring GATEHOUSE_TRUST_PROXY) and its user agent. */
export interface RequestOrigin {
  ip: string | null;
  userAgent: string | null;
}

export const UNKNOWN_ORIGIN: RequestOrigin = { ip: null, userAgent: null };

/** Who did it, as the audit log records it: the credential, the person behind it, and where the request came from. */
export function auditActorOf(principal: Principal, origin: RequestOrigin): AuditActor {
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
