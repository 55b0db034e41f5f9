import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { subject } from '@casl/ability';
import { GatehouseError } from '@gatehouse/config';
import { AbilityFactory, ApiKeyService, AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ZodResponse } from 'nestjs-zod';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api.dto';

@ApiTags('api-keys')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly abilities: AbilityFactory,
  ) {}

  /** Admins: every key and OAuth grant of the organization; anyone else: their own. */
  @Get()
  @Authenticated({ action: 'read', subject: 'ApiKey' })
  @ZodResponse({ status: 200, type: [ApiKeyDto] })
  async list(@CurrentPrincipal() principal: Principal) {
    const ability = this.abilities.forPrincipal(principal);
    return (await this.apiKeys.list(principal.organizationId)).filter((key) => ability.can('read', subject('ApiKey', key)));
  }

  /** The secret is in this response only; Gatehouse stores its hash (and the audit record only its prefix). */
  @Post()
  @Authenticated({ action: 'create', subject: 'ApiKey' })
  @AuditedAs('admin.api_key.created', { target: 'api_key' })
  @ZodResponse({ status: 201, type: CreatedApiKeyDto })
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateApiKeyDto) {
    const { key, secret } = await this.apiKeys.create(principal, body);
    return { ...key, secret };
  }

  @Delete(':id')
  @Authenticated({ action: 'delete', subject: 'ApiKey' })
  @AuditedAs('admin.api_key.revoked', { target: 'api_key' })
  @ZodResponse({ status: 200, type: ApiKeyDto })
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id', new ParseUUIDPipe({ version: '4' })) id: string) {
    const key = await this.apiKeys.find(principal.organizationId, id);
    // Someone else's key is not found, rather than forbidden: its existence is not theirs to learn.
    if (!key || !this.abilities.forPrincipal(principal).can('delete', subject('ApiKey', key))) throw GatehouseError.notFound(`API key ${id} not found`);
    return this.apiKeys.revoke(principal.organizationId, id);
  }
}
