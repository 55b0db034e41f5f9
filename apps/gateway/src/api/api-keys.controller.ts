import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditActor, AuditLog } from '@gatehouse/audit';
import { ApiKeyService, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { CurrentAuditActor } from '../http/audit-actor';
import { CreateApiKeyDto } from './api.dto';

// Changes are recorded in the audit log after they succeed (the request's IP and user agent are known here).
@ApiTags('api-keys')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly audit: AuditLog,
  ) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'ApiKey' })
  list(@CurrentPrincipal() principal: Principal) {
    return this.apiKeys.list(principal.organizationId);
  }

  /** The secret is in this response only; Gatehouse stores its hash. */
  @Post()
  @Authenticated({ action: 'create', subject: 'ApiKey' })
  async create(@CurrentPrincipal() principal: Principal, @CurrentAuditActor() actor: AuditActor, @Body() body: CreateApiKeyDto) {
    const { key, secret } = await this.apiKeys.create(principal, body);
    await this.audit.append({
      organizationId: principal.organizationId,
      kind: 'admin.api_key.created',
      actor,
      target: { type: 'api_key', id: key.id, name: key.name },
      outcome: 'success',
      data: { prefix: key.prefix, role: key.role, access: key.access },
    });
    return { ...key, secret };
  }

  @Delete(':id')
  @Authenticated({ action: 'delete', subject: 'ApiKey' })
  async revoke(
    @CurrentPrincipal() principal: Principal,
    @CurrentAuditActor() actor: AuditActor,
    @Param('id', new ParseUUIDPipe({ version: '4' })) id: string,
  ) {
    const key = await this.apiKeys.revoke(principal.organizationId, id);
    await this.audit.append({
      organizationId: principal.organizationId,
      kind: 'admin.api_key.revoked',
      actor,
      target: { type: 'api_key', id: key.id, name: key.name },
      outcome: 'success',
      data: { prefix: key.prefix },
    });
    return key;
  }
}
