import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { ApiKeyService } from '../api-key/api-key.service';
import { ACCESS_TOKEN_PREFIX, OAuthTokenService } from '../oauth/oauth-token.service';
import { AbilityFactory } from './ability.factory';
import type { AuthenticatedRequest, RequiredPermission } from './authorize.decorator';
import { MCP_RESOURCE, REQUIRED_PERMISSION } from './authorize.decorator';
import { Principal } from './principal';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** What the 401/403 challenge says (RFC 6750 §3): nothing when no token was sent, else why it failed. */
export type BearerChallenge = { error?: 'invalid_token' | 'insufficient_scope' };

// The one authentication step of every route: bearer API key or OAuth access token → principal, then the
// route's permission checked against the principal's CASL ability.
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly oauthTokens: OAuthTokenService,
    private readonly abilities: AbilityFactory,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw unauthenticated('Missing bearer token: send "Authorization: Bearer <API key or access token>"', {});
    const principal = await this.authenticate(token, this.reflector.get<boolean | undefined>(MCP_RESOURCE, context.getHandler()) === true);
    request.principal = principal;

    const permission = this.reflector.get<RequiredPermission | undefined>(REQUIRED_PERMISSION, context.getHandler());
    if (permission && this.abilities.forPrincipal(principal).cannot(permission.action, permission.subject)) {
      throw GatehouseError.forbidden(
        `This ${principal.access === 'read_only' ? 'read-only ' : ''}key (role ${principal.role}) may not ${permission.action} ${permission.subject} resources`,
      );
    }
    return true;
  }

  private async authenticate(token: string, mcpResource: boolean): Promise<Principal> {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) {
      const principal = await this.apiKeys.authenticate(token);
      if (!principal) throw unauthenticated('Invalid or revoked API key', { error: 'invalid_token' });
      return principal;
    }
    const principal = await this.oauthTokens.authenticate(token);
    if (!principal) throw unauthenticated('Invalid, expired or revoked access token', { error: 'invalid_token' });
    // Access tokens are audience-bound to the MCP endpoint (RFC 8707); the admin API takes API keys.
    if (!mcpResource) throw unauthenticated('This access token is for the MCP endpoint only; the admin API takes API keys', { error: 'invalid_token' });
    return principal;
  }
}

function unauthenticated(message: string, challenge: BearerChallenge): GatehouseError {
  return new GatehouseError(ErrorCode.Unauthenticated, message, { challenge });
}
