import { Injectable } from '@nestjs/common';
import { AuditActor, AuditRecorder, DEPLOYMENT_ORGANIZATION_ID } from '@gatehouse/audit';
import { RequestOrigin } from '../auth/audit-actor';
import { OAuthError } from './oauth.errors';

export type TokenEvent = 'auth.token.issued' | 'auth.token.refreshed' | 'auth.token.revoked';

/** The client at the token or revocation endpoint, as far as it is known. */
export interface TokenClient {
  clientId: string | null;
  name: string | null;
}

/** The grant a token event is about, in its organization. */
export interface AuditedGrant {
  organizationId: string;
  id: string;
  user: { id: string | null; email: string | null } | null;
}

// Records of the token and revocation endpoints: tokens issued, refreshed and revoked in the grant's
// organization; refused grants and clients (invalid_grant, invalid_client) as auth.failed, in the deployment's
// chain when no organization is known. Token values never appear, at most a token's display prefix.
@Injectable()
export class TokenAudit {
  constructor(private readonly recorder: AuditRecorder) {}

  event(kind: TokenEvent, grant: AuditedGrant, client: TokenClient, origin: RequestOrigin, data: Record<string, unknown>): Promise<void> {
    return this.recorder.record({
      organizationId: grant.organizationId,
      kind,
      actor: actor(client, origin, grant.user),
      target: { type: 'oauth_grant', id: grant.id },
      outcome: 'success',
      data,
    });
  }

  /** Records the refusal and returns the error, for `throw await audit.failed(...)`. */
  async failed(error: OAuthError, grant: Partial<AuditedGrant> | null, client: TokenClient, origin: RequestOrigin, data: Record<string, unknown>): Promise<OAuthError> {
    await this.recorder.record({
      organizationId: grant?.organizationId ?? DEPLOYMENT_ORGANIZATION_ID,
      kind: 'auth.failed',
      actor: actor(client, origin, grant?.user ?? null),
      target: grant?.id ? { type: 'oauth_grant', id: grant.id } : null,
      outcome: 'failure',
      data: { reason: error.code, description: error.description, ...data },
    });
    return error;
  }
}

function actor(client: TokenClient, origin: RequestOrigin, user: AuditedGrant['user']): AuditActor {
  return { type: 'oauth_client', id: client.clientId, name: client.name, ip: origin.ip, userAgent: origin.userAgent, user };
}
