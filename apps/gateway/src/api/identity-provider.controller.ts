import { Body, Controller, Delete, Get, HttpCode, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditedAs, Authenticated, CurrentPrincipal, IdentityProviderService, OidcSignInService, Principal } from '@gatehouse/identity';
import { ZodResponse } from 'nestjs-zod';
import { IdentityProviderDto } from './api.dto';
import { IdentityProviderViewDto } from './people.dto';

// The organization's OpenID Connect provider. The response names the callback URL to register at the provider.
@ApiTags('identity-provider')
@Controller('api/v1/identity-provider')
export class IdentityProviderController {
  constructor(
    private readonly providers: IdentityProviderService,
    private readonly sso: OidcSignInService,
  ) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'IdentityProvider' })
  @ZodResponse({ status: 200, type: IdentityProviderViewDto })
  get(@CurrentPrincipal() principal: Principal) {
    return this.providers.get(principal.organizationId, this.sso.callbackUrl);
  }

  @Put()
  @Authenticated({ action: 'update', subject: 'IdentityProvider' })
  @AuditedAs('admin.identity_provider.updated', { target: 'identity_provider' })
  @ZodResponse({ status: 200, type: IdentityProviderViewDto })
  save(@CurrentPrincipal() principal: Principal, @Body() body: IdentityProviderDto) {
    return this.providers.save(principal.organizationId, body, this.sso.callbackUrl);
  }

  @Delete()
  @HttpCode(204)
  @Authenticated({ action: 'delete', subject: 'IdentityProvider' })
  @AuditedAs('admin.identity_provider.deleted', { target: 'identity_provider' })
  async remove(@CurrentPrincipal() principal: Principal): Promise<void> {
    await this.providers.remove(principal.organizationId);
  }
}
