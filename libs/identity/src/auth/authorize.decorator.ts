import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { Request } from 'express';
import { Action, Subject } from './ability.factory';
import { AuthGuard } from './auth.guard';
import { Principal } from './principal';

export const REQUIRED_PERMISSION = 'gatehouse:required-permission';
export const MCP_RESOURCE = 'gatehouse:mcp-resource';

export interface RequiredPermission {
  action: Action;
  subject: Subject;
}

export type AuthenticatedRequest = Request & { principal: Principal };

/** States who may call a route: any API key, or one whose ability allows the permission. */
export function Authenticated(permission?: RequiredPermission) {
  return applyDecorators(SetMetadata(REQUIRED_PERMISSION, permission), UseGuards(AuthGuard), ApiBearerAuth());
}

/** The MCP endpoint: the protected resource OAuth access tokens are issued for (their audience), or an API key. */
export function McpAuthenticated() {
  return applyDecorators(SetMetadata(MCP_RESOURCE, true), UseGuards(AuthGuard));
}

export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().principal,
);
