import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { ApiKeyService } from '../api-key/api-key.service';
import { ACCESS_TOKEN_PREFIX, OAuthTokenService } from '../oauth/oauth-token.service';
import { Door, doorRefusal } from './mcp-door';
import { Principal } from './principal';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** What the 401/403 challenge says (RFC 6750 §3): nothing when no token was sent, else why it failed. */
export type BearerChallenge = { error?: 'invalid_token' | 'insufficient_scope' };

/** The bearer token of a request's Authorization header, if it has one. */
export function bearerToken(request: Pick<Request, 'headers'>): string | undefined {
  return BEARER.exec(request.headers.authorization ?? '')?.[1];
}

// Bearer API key or OAuth access token → principal. The guard uses it for every route; the MCP front door
// (McpFrontDoor) for tools/call, where a failure is left to the guard to answer and audit.
@Injectable()
export class BearerAuthenticator {
  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly oauthTokens: OAuthTokenService,
  ) {}

  /**
   * The principal; an Unauthenticated GatehouseError when the credential is unknown, revoked, expired or for another
   * door (an endpoint's key elsewhere, an access token for another resource).
   */
  async authenticate(token: string, door: Door): Promise<Principal> {
    const principal = await this.principal(token, door);
    const refusal = doorRefusal(principal, door);
    if (refusal) throw unauthenticated(refusal, { error: 'invalid_token' }, { wrongAudience: true });
    return principal;
  }

  private async principal(token: string, door: Door): Promise<Principal> {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) {
      const principal = await this.apiKeys.standing(token);
      if (principal === 'expired') throw unauthenticated('The API key has expired', { error: 'invalid_token' });
      if (typeof principal === 'string') throw unauthenticated('Invalid or revoked API key', { error: 'invalid_token' });
      return principal;
    }
    const principal = await this.oauthTokens.authenticate(token);
    if (!principal) throw unauthenticated('Invalid, expired or revoked access token', { error: 'invalid_token' });
    // Access tokens are audience-bound to an MCP door (RFC 8707); the admin API takes API keys.
    if (door.kind === 'admin') {
      throw unauthenticated('This access token is for the MCP endpoint only; the admin API takes API keys', { error: 'invalid_token' }, { wrongAudience: true });
    }
    return principal;
  }
}

export function unauthenticated(message: string, challenge: BearerChallenge, details: Record<string, unknown> = {}): GatehouseError {
  return new GatehouseError(ErrorCode.Unauthenticated, message, { challenge, ...details });
}
