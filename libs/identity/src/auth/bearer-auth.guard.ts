import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuditRecorder } from '@gatehouse/audit';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { ApiKeyService } from '../api-key/api-key.service';
import { ACCESS_TOKEN_PREFIX, OAuthTokenService } from '../oauth/oauth-token.service';
import { AbilityFactory } from './ability.factory';
import { auditActorOf, requestOrigin } from './audit-actor';
import { AUDITED_AS, AuditedAction, auditedTarget } from './audited-as.decorator';
import { AuthFailureAudit } from './auth-failure.audit';
import type { AuthenticatedRequest, RequiredPermission } from './authorize.decorator';
import { MCP_RESOURCE, REQUIRED_PERMISSION } from './authorize.decorator';
import { Principal } from './principal';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** What the 401/403 challenge says (RFC 6750 §3): nothing when no token was sent, else why it failed. */
export type BearerChallenge = { error?: 'invalid_token' | 'insufficient_scope' };

// The one authentication step of every route: bearer API key or OAuth access token → principal, then the
// route's permission checked against the principal's CASL ability. A presented credential that fails is audited
// (auth.failed); a request without one is not (every OAuth client's discovery starts with one).
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly oauthTokens: OAuthTokenService,
    private readonly abilities: AbilityFactory,
    private readonly reflector: Reflector,
    private readonly failures: AuthFailureAudit,
    private readonly recorder: AuditRecorder,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw unauthenticated('Missing bearer token: send "Authorization: Bearer <API key or access token>"', {});
    const origin = requestOrigin(request);
    const mcpResource = this.reflector.get<boolean | undefined>(MCP_RESOURCE, context.getHandler()) === true;
    const principal = await this.authenticate(token, mcpResource).catch(async (error: unknown) => {
      if (error instanceof GatehouseError && error.code === ErrorCode.Unauthenticated) {
        const wrongAudience = error.details?.['wrongAudience'] === true;
        await this.failures.bearer(token, origin, { method: request.method, path: request.path }, wrongAudience);
      }
      throw error;
    });
    // A copy: the cached principal is shared by requests from elsewhere.
    request.principal = { ...principal, origin };

    const permission = this.reflector.get<RequiredPermission | undefined>(REQUIRED_PERMISSION, context.getHandler());
    if (permission && this.abilities.forPrincipal(principal).cannot(permission.action, permission.subject)) {
      const denial = GatehouseError.forbidden(
        `This ${principal.access === 'read_only' ? 'read-only ' : ''}key (role ${principal.role}) may not ${permission.action} ${permission.subject} resources`,
      );
      await this.recordDenial(context, request, denial);
      throw denial;
    }
    return true;
  }

  // Interceptors do not run after a guard refuses, so a refused admin change is recorded here.
  private async recordDenial(context: ExecutionContext, request: AuthenticatedRequest, denial: GatehouseError): Promise<void> {
    const action = this.reflector.get<AuditedAction | undefined>(AUDITED_AS, context.getHandler());
    if (!action) return;
    await this.recorder.record({
      organizationId: request.principal.organizationId,
      kind: action.kind,
      actor: auditActorOf(request.principal),
      target: auditedTarget(action, request.params),
      outcome: 'denied',
      data: { status: 403, error: denial.message, method: request.method, path: request.path },
    });
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
    if (!mcpResource) {
      throw unauthenticated('This access token is for the MCP endpoint only; the admin API takes API keys', { error: 'invalid_token' }, { wrongAudience: true });
    }
    return principal;
  }
}

function unauthenticated(message: string, challenge: BearerChallenge, details: Record<string, unknown> = {}): GatehouseError {
  return new GatehouseError(ErrorCode.Unauthenticated, message, { challenge, ...details });
}
