import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { EndpointRepository, GrantTokenRecord, NewTokenPair, OAuthClientRecord, OAuthGrantRepository, UserRepository } from '@gatehouse/db';
import { RequestOrigin } from '../auth/audit-actor';
import { CredentialFailure, principalOf } from '../auth/credential-standing';
import { Principal } from '../auth/principal';
import { KeyUsageRecorder } from '../api-key/key-usage.recorder';
import { hashCredential } from '../auth/credential-hash';
import { PrincipalCache } from '../auth/principal-cache';
import { OAuthError } from './oauth.errors';
import { OAuthSettings } from './oauth-settings';
import { verifyCodeVerifier } from './pkce';
import { grantScope, narrowScope } from './scopes';
import { AuditedGrant, TokenAudit } from './token.audit';

export const ACCESS_TOKEN_PREFIX = 'gha_';
const REFRESH_TOKEN_PREFIX = 'ghr_';

/** RFC 6749 §5.1. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

type Params = Record<string, unknown>;

const param = (params: Params, name: string) => (typeof params[name] === 'string' ? (params[name] as string) : undefined);

// Opaque tokens, stored as hashes: a database leak yields nothing usable, and revocation is a row update that
// the principal cache hears about at once. Tokens belong to a grant (an API key of kind oauth_grant).
@Injectable()
export class OAuthTokenService {
  private readonly logger = new Logger(OAuthTokenService.name);

  constructor(
    private readonly grants: OAuthGrantRepository,
    private readonly users: UserRepository,
    private readonly cache: PrincipalCache,
    private readonly usage: KeyUsageRecorder,
    private readonly settings: OAuthSettings,
    private readonly audit: TokenAudit,
    private readonly endpoints: EndpointRepository,
  ) {}

  /** grant_type=authorization_code (OAuth 2.1 §4.1.3). */
  async exchangeCode(client: OAuthClientRecord, params: Params, origin: RequestOrigin): Promise<TokenResponse> {
    const code = param(params, 'code');
    const verifier = param(params, 'code_verifier');
    if (!code) throw new OAuthError('invalid_request', 'code is missing');
    if (!verifier) throw new OAuthError('invalid_request', 'code_verifier is missing (PKCE is required)');
    const record = await this.grants.findCode(hashCredential(code));
    const refused = (description: string, grant: Partial<AuditedGrant> | null = record && { organizationId: record.organizationId, user: { id: record.userId, email: null } }) =>
      this.audit.failed(new OAuthError('invalid_grant', description), grant, client, origin, { grantType: 'authorization_code' });
    if (!record) throw await refused('The authorization code is invalid', null);
    if (record.clientId !== client.id) throw await refused('The authorization code is invalid');
    if (record.usedAt) {
      const revokedGrantId = await this.grants.replayCode(record.id, new Date());
      await this.announceReplay(revokedGrantId, client);
      throw await refused('The authorization code was already used; the tokens issued for it are revoked', {
        organizationId: record.organizationId,
        ...(revokedGrantId ? { id: revokedGrantId } : {}),
        user: { id: record.userId, email: null },
      });
    }
    if (record.expiresAt.getTime() <= Date.now()) throw await refused('The authorization code has expired');
    const redirectUri = param(params, 'redirect_uri');
    if (redirectUri !== undefined && redirectUri !== record.redirectUri) {
      throw await refused('redirect_uri does not match the one of the authorization request');
    }
    const resource = param(params, 'resource');
    if (resource !== undefined && resource !== record.resource) {
      throw new OAuthError('invalid_target', `The authorization was for ${record.resource}, not ${resource}`);
    }
    if (!verifyCodeVerifier(verifier, record.codeChallenge)) throw await refused('code_verifier does not match the code_challenge');

    const role = await this.users.findRole(record.organizationId, record.userId);
    if (!role) throw await refused('The person who approved is no longer a member of the organization');
    const endpointId = await this.endpointOf(record.organizationId, record.resource);
    const scope = grantScope(record.scope);
    const { pair, response } = this.issue(scope.scope);
    const outcome = await this.grants.redeemCode(
      record,
      { name: `MCP — ${client.name}`.slice(0, 200), role, access: scope.access, scope: scope.scope, prefix: response.access_token.slice(0, 10), endpointId },
      pair,
      new Date(),
    );
    if (outcome.outcome === 'replayed') {
      // Lost a race with another exchange of the same code: that one's grant has just been revoked.
      await this.announceReplay(outcome.revokedGrantId, client);
      throw await refused('The authorization code was already used; the tokens issued for it are revoked');
    }
    await this.audit.event('auth.token.issued', { organizationId: record.organizationId, id: outcome.grantId, user: { id: record.userId, email: null } }, client, origin, {
      grantType: 'authorization_code',
      scope: scope.scope,
      prefix: response.access_token.slice(0, 10),
    });
    return response;
  }

  /** grant_type=refresh_token, with rotation: every refresh token works once (OAuth 2.1 §4.3.1). */
  async refresh(client: OAuthClientRecord, params: Params, origin: RequestOrigin): Promise<TokenResponse> {
    const presented = param(params, 'refresh_token');
    if (!presented) throw new OAuthError('invalid_request', 'refresh_token is missing');
    const token = await this.grants.findToken(hashCredential(presented));
    const grant = token && auditedGrant(token);
    const refused = (description: string, data: Record<string, unknown> = {}) =>
      this.audit.failed(new OAuthError('invalid_grant', description), grant, client, origin, { grantType: 'refresh_token', ...data });
    if (!token || token.kind !== 'refresh' || token.grant.clientId !== client.id) throw await refused('The refresh token is invalid');
    if (token.grant.revokedAt) throw await refused('The authorization was revoked');
    if (token.rotatedAt || token.revokedAt) {
      // Reuse means the token was copied: whoever holds the newer one may be an attacker. End the grant.
      await this.grants.revokeGrant(token.grant.id, new Date());
      await this.cache.keyRevoked(token.grant.id);
      this.logger.warn({ grantId: token.grant.id, clientId: client.clientId }, 'Refresh token reused: grant revoked');
      throw await refused('The refresh token was already used; the authorization is revoked', { refreshTokenReused: true, grantRevoked: true });
    }
    if (token.expiresAt.getTime() <= Date.now()) throw await refused('The refresh token has expired');
    const resource = param(params, 'resource');
    const grantedFor = this.settings.resourceFor(token.grant.endpoint?.name ?? null);
    if (resource !== undefined && resource !== grantedFor) {
      throw new OAuthError('invalid_target', `This authorization is for ${grantedFor}, not ${resource}`);
    }
    const granted = grantScope(token.scope);
    const scope = narrowScope(granted, param(params, 'scope'));
    if (!scope) throw new OAuthError('invalid_scope', 'A refresh cannot widen the granted scope');
    const { pair, response } = this.issue(scope.scope);
    const outcome = await this.grants.rotateRefreshToken(token.id, token.grant.id, pair, new Date());
    if (outcome.outcome === 'reused') {
      await this.cache.keyRevoked(token.grant.id);
      throw await refused('The refresh token was already used; the authorization is revoked', { refreshTokenReused: true, grantRevoked: true });
    }
    await this.audit.event('auth.token.refreshed', auditedGrant(token), client, origin, { grantType: 'refresh_token', scope: scope.scope, prefix: response.access_token.slice(0, 10) });
    return response;
  }

  /** RFC 7009: revoking a refresh token ends the grant; an access token, just itself. Unknown tokens are fine. */
  async revoke(client: OAuthClientRecord, params: Params, origin: RequestOrigin): Promise<void> {
    const presented = param(params, 'token');
    if (!presented) throw new OAuthError('invalid_request', 'token is missing');
    const hash = hashCredential(presented);
    const token = await this.grants.findToken(hash);
    if (!token || token.grant.clientId !== client.id) return;
    if (token.kind === 'refresh') {
      await this.grants.revokeGrant(token.grant.id, new Date());
      await this.cache.keyRevoked(token.grant.id);
    } else {
      await this.grants.revokeToken(token.id, new Date());
      await this.cache.tokenRevoked(hash);
    }
    await this.audit.event('auth.token.revoked', auditedGrant(token), client, origin, { tokenKind: token.kind, grantRevoked: token.kind === 'refresh' });
  }

  /** The principal of an OAuth access token presented to /mcp, or null when it is not (or no longer) valid. */
  async authenticate(accessToken: string): Promise<Principal | null> {
    const hash = hashCredential(accessToken);
    const cached = this.cache.get(hash);
    if (cached) {
      if (cached.apiKeyId) this.usage.record(cached.apiKeyId);
      return cached;
    }
    return this.cache.shared(hash, async (keep) => {
      const token = await this.grants.findToken(hash);
      if (!token || accessTokenFailure(token)) return null;
      // The lower of the grant's role and the person's role now (a demotion applies at once); the token's scope
      // within the grant's access.
      const principal = principalOf(token.grant, grantScope(token.scope));
      if (typeof principal === 'string') return null;
      this.usage.record(token.grant.id);
      keep(principal, token.expiresAt.getTime());
      return principal;
    });
  }

  // The grant is bound to the endpoint its resource names, in the organization the person chose: a token for
  // endpoint X opens neither /mcp nor endpoint Y (BearerAuthenticator). Null: issued for /mcp.
  private async endpointOf(organizationId: string, resource: string): Promise<string | null> {
    const name = this.settings.endpointOfResource(resource);
    if (name === undefined) throw new OAuthError('invalid_target', `This server issues no tokens for ${resource}`);
    if (name === null) return null;
    const endpoint = await this.endpoints.find(organizationId, name);
    if (!endpoint) throw new OAuthError('invalid_target', `The organization has no MCP endpoint "${name}" (${resource})`);
    return endpoint.id;
  }

  private issue(scope: string): { pair: NewTokenPair; response: TokenResponse } {
    const accessToken = `${ACCESS_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const refreshToken = `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    return {
      pair: {
        scope,
        accessHash: hashCredential(accessToken),
        accessExpiresAt: new Date(now + this.settings.accessTokenTtlSeconds * 1000),
        refreshHash: hashCredential(refreshToken),
        refreshExpiresAt: new Date(now + this.settings.refreshTokenTtlSeconds * 1000),
      },
      response: { access_token: accessToken, token_type: 'Bearer', expires_in: this.settings.accessTokenTtlSeconds, refresh_token: refreshToken, scope },
    };
  }

  private async announceReplay(revokedGrantId: string | null, client: OAuthClientRecord): Promise<void> {
    if (!revokedGrantId) return;
    await this.cache.keyRevoked(revokedGrantId);
    this.logger.warn({ grantId: revokedGrantId, clientId: client.clientId }, 'Authorization code replayed: grant revoked');
  }
}

function auditedGrant(token: GrantTokenRecord): AuditedGrant {
  return { organizationId: token.grant.organization.id, id: token.grant.id, user: { id: token.grant.userId, email: token.grant.userEmail } };
}

/** Why a stored token cannot authenticate a request (null: it can). */
export function accessTokenFailure(token: GrantTokenRecord): 'wrong_kind' | CredentialFailure | 'expired' | null {
  if (token.kind !== 'access') return 'wrong_kind';
  if (token.revokedAt) return 'revoked';
  const standing = principalOf(token.grant);
  if (typeof standing === 'string') return standing;
  return token.expiresAt.getTime() <= Date.now() ? 'expired' : null;
}
