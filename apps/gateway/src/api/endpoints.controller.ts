import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { GatehouseError } from '@gatehouse/config';
import { EndpointService } from '@gatehouse/governance';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api.dto';
import { EndpointDto, EndpointSpecDto } from './endpoints.dto';

// Endpoints: narrower MCP doors (/mcp/<name>), each a selection of the organization's tools, with keys of their
// own. Admins change them; everyone but auditors reads them (as connections).
@ApiTags('endpoints')
@Controller('api/v1/endpoints')
export class EndpointsController {
  constructor(private readonly endpoints: EndpointService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Endpoint' })
  @ZodResponse({ status: 200, type: [EndpointDto] })
  list(@CurrentPrincipal() principal: Principal) {
    return this.endpoints.list(principal.organizationId);
  }

  @Post()
  @Authenticated({ action: 'create', subject: 'Endpoint' })
  @ZodResponse({ status: 201, type: EndpointDto })
  create(@CurrentPrincipal() principal: Principal, @Body() spec: EndpointSpecDto) {
    return this.endpoints.save(principal, spec, 'create');
  }

  @Get(':name')
  @Authenticated({ action: 'read', subject: 'Endpoint' })
  @ZodResponse({ status: 200, type: EndpointDto })
  get(@CurrentPrincipal() principal: Principal, @Param('name') name: string) {
    return this.endpoints.get(principal.organizationId, name);
  }

  @Put(':name')
  @Authenticated({ action: 'update', subject: 'Endpoint' })
  @ZodResponse({ status: 200, type: EndpointDto })
  update(@CurrentPrincipal() principal: Principal, @Param('name') name: string, @Body() spec: EndpointSpecDto) {
    if (spec.name !== name) throw GatehouseError.invalid(`The body names endpoint "${spec.name}", the path "${name}"; an endpoint is not renamed`);
    return this.endpoints.save(principal, spec, 'update');
  }

  @Delete(':name')
  @HttpCode(204)
  @Authenticated({ action: 'delete', subject: 'Endpoint' })
  async remove(@CurrentPrincipal() principal: Principal, @Param('name') name: string): Promise<void> {
    await this.endpoints.remove(principal, name);
  }

  @Get(':name/keys')
  @Authenticated({ action: 'read', subject: 'ApiKey' })
  @ZodResponse({ status: 200, type: [ApiKeyDto], description: "The endpoint's keys; revoke one at DELETE /api/v1/api-keys/{id}" })
  keys(@CurrentPrincipal() principal: Principal, @Param('name') name: string) {
    return this.endpoints.keys(principal.organizationId, name);
  }

  /** The secret is in this response only; Gatehouse stores its hash (and the audit record only its prefix). */
  @Post(':name/keys')
  @Authenticated({ action: 'create', subject: 'ApiKey' })
  @AuditedAs('admin.api_key.created', { target: 'api_key', records: ['endpointId', 'expiresAt'] })
  @ZodResponse({ status: 201, type: CreatedApiKeyDto, description: 'A key usable at /mcp/{name} only' })
  async createKey(@CurrentPrincipal() principal: Principal, @Param('name') name: string, @Body() body: CreateApiKeyDto) {
    const { key, secret } = await this.endpoints.createKey(principal, name, body);
    return { ...key, secret };
  }
}
