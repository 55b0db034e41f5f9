import type { IncomingMessage } from 'node:http';
import type { AuditActor } from '@gatehouse/audit';
import type { Principal } from './principal';

/** Where a request came from: the client address (honouring GATEHOUSE_TRUST_PROXY) and its user agent. */
export interface RequestOrigin {
  ip: string | null;
  userAgent: string | null;
}

export const UNKNOWN_ORIGIN: RequestOrigin = { ip: null, userAgent: null };

// Express's request.ip applies the trust-proxy setting; a bare IncomingMessage has only the socket address.
export function requestOrigin(request: IncomingMessage & { ip?: string }): RequestOrigin {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip ?? request.socket?.remoteAddress ?? null, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 500) : null };
}

/** Who did it, as the audit log records it: the credential, the person behind it, and where the request came from. */
export function auditActorOf(principal: Principal, origin: RequestOrigin = principal.origin ?? UNKNOWN_ORIGIN): AuditActor {
  if (principal.kind === 'session') {
    // The person themselves, signed in to the dashboard.
    return { type: 'user', id: principal.userId, name: principal.userEmail, ip: origin.ip, userAgent: origin.userAgent, user: { id: principal.userId, email: principal.userEmail } };
  }
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
