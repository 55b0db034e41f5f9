import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiKeyService, AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { CreateApiKeyDto } from './api.dto';

@ApiTags('api-keys')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeyService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'ApiKey' })
  list(@CurrentPrincipal() principal: Principal) {
    return this.apiKeys.list(principal.organizationId);
  }

  /** The secret is in this response only; Gatehouse stores its hash (and the audit record only its prefix). */
  @Post()
  @Authenticated({ action: 'create', subject: 'ApiKey' })
  @AuditedAs('admin.api_key.created', { target: 'api_key' })
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateApiKeyDto) {
    const { key, secret } = await this.apiKeys.create(principal, body);
    return { ...key, secret };
  }

  @Delete(':id')
  @Authenticated({ action: 'delete', subject: 'ApiKey' })
  @AuditedAs('admin.api_key.revoked', { target: 'api_key' })
  revoke(@CurrentPrincipal() principal: Principal, @Param('id', new ParseUUIDPipe({ version: '4' })) id: string) {
    return this.apiKeys.revoke(principal.organizationId, id);
  }
}
