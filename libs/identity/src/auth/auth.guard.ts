import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { AuditRecorder } from '@gatehouse/audit';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { ApiRequestLimit } from '../throttle/api-request-limit';
import { AbilityFactory } from './ability.factory';
import { auditActorOf, RequestOrigin, requestOrigin } from './audit-actor';
import { AUDITED_AS, AuditedAction, auditedTarget } from './audited-as.decorator';
import { AuthFailureAudit } from './auth-failure.audit';
import { BearerAuthenticator, bearerToken, unauthenticated } from './bearer-authenticator';
import { ADMIN_DOOR, mcpDoorOf } from './mcp-door';
import type { AuthenticatedRequest, RequiredPermission } from './authorize.decorator';
import type { Principal } from './principal';
import { SessionAuthenticator } from './session-authenticator';
import { MCP_RESOURCE, REQUIRED_PERMISSION } from './authorize.decorator';

// The one authentication step of every route: bearer API key or OAuth access token → principal (or, on the admin
// API only, the dashboard's browser session), then the route's permission checked against the principal's CASL
// ability. A presented bearer credential that fails is audited (auth.failed); a request without one is not (every
// OAuth client's discovery starts with one). Admin API requests are counted against their credential's quota before
// the permission check; /mcp counts tools/call itself.
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: BearerAuthenticator,
    private readonly sessions: SessionAuthenticator,
    private readonly abilities: AbilityFactory,
    private readonly reflector: Reflector,
    private readonly failures: AuthFailureAudit,
    private readonly recorder: AuditRecorder,
    private readonly apiLimit: ApiRequestLimit,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request);
    const origin = requestOrigin(request);
    const mcpResource = this.reflector.get<boolean | undefined>(MCP_RESOURCE, context.getHandler()) === true;
    if (!token && !mcpResource && this.sessions.presented(request)) {
      return this.authorize(context, request, await this.sessions.authenticate(request), origin);
    }
    if (!token) throw unauthenticated('Missing bearer token: send "Authorization: Bearer <API key or access token>"', {});
    // An MCP route's path is /mcp or /mcp/<a valid endpoint name> (EndpointNameMiddleware refused any other).
    const door = mcpResource ? { kind: 'mcp' as const, endpoint: mcpDoorOf(request) ?? null } : ADMIN_DOOR;
    const principal = await this.authenticator.authenticate(token, door).catch(async (error: unknown) => {
      if (error instanceof GatehouseError && error.code === ErrorCode.Unauthenticated) {
        const wrongAudience = error.details?.['wrongAudience'] === true;
        await this.failures.bearer(token, origin, { method: request.method, path: request.path }, wrongAudience);
      }
      throw error;
    });
    return this.authorize(context, request, principal, origin, mcpResource);
  }

  private async authorize(context: ExecutionContext, request: AuthenticatedRequest, principal: Principal, origin: RequestOrigin, mcpResource = false): Promise<boolean> {
    // A copy: the cached principal is shared by requests from elsewhere.
    request.principal = { ...principal, origin };
    if (!mcpResource) await this.apiLimit.count(principal, context.switchToHttp().getResponse<Response>());

    const permission = this.reflector.get<RequiredPermission | undefined>(REQUIRED_PERMISSION, context.getHandler());
    if (permission && this.abilities.forPrincipal(principal).cannot(permission.action, permission.subject)) {
      const who = principal.kind === 'session' ? 'You' : `This ${principal.access === 'read_only' ? 'read-only ' : ''}key`;
      const denial = GatehouseError.forbidden(`${who} (role ${principal.role}) may not ${permission.action} ${permission.subject} resources`);
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
}
