import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GatehouseError } from '@gatehouse/config';
import { ApiKeyService } from '../api-key/api-key.service';
import { AbilityFactory } from './ability.factory';
import type { AuthenticatedRequest, RequiredPermission } from './authorize.decorator';
import { REQUIRED_PERMISSION } from './authorize.decorator';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly abilities: AbilityFactory,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw GatehouseError.unauthenticated('Missing bearer token: send "Authorization: Bearer <API key>"');
    const principal = await this.apiKeys.authenticate(token);
    if (!principal) throw GatehouseError.unauthenticated('Invalid or revoked API key');
    request.principal = principal;

    const permission = this.reflector.get<RequiredPermission | undefined>(REQUIRED_PERMISSION, context.getHandler());
    if (permission && this.abilities.forPrincipal(principal).cannot(permission.action, permission.subject)) {
      throw GatehouseError.forbidden(
        `This ${principal.access === 'read_only' ? 'read-only ' : ''}key (role ${principal.role}) may not ${permission.action} ${permission.subject} resources`,
      );
    }
    return true;
  }
}
