import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { isAdministrator } from '@gatehouse/config';
import { CONNECTION_AUDIT_FIELDS, ConnectionDetail, ConnectionService } from '@gatehouse/connections';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { CreateConnectionDto } from './api.dto';

const Id = () => Param('id', new ParseUUIDPipe({ version: '4' }));

/** Admins see how a connection is configured; others what it is (see ConnectionDetail). */
function connectionDetailFor(principal: Principal): ConnectionDetail {
  return isAdministrator(principal.role) ? 'full' : 'summary';
}

@ApiTags('connections')
@Controller('api/v1/connections')
export class ConnectionsController {
  constructor(private readonly connections: ConnectionService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Connection' })
  list(@CurrentPrincipal() principal: Principal) {
    return this.connections.list(principal.organizationId, connectionDetailFor(principal));
  }

  @Get('health')
  @Authenticated({ action: 'read', subject: 'Connection' })
  health(@CurrentPrincipal() principal: Principal) {
    return this.connections.health(principal.organizationId);
  }

  @Post()
  @Authenticated({ action: 'create', subject: 'Connection' })
  @AuditedAs('admin.connection.created', { target: 'connection', records: CONNECTION_AUDIT_FIELDS })
  create(@CurrentPrincipal() principal: Principal, @Body() body: CreateConnectionDto) {
    return this.connections.create(principal.organizationId, body);
  }

  @Get(':id')
  @Authenticated({ action: 'read', subject: 'Connection' })
  get(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.get(principal.organizationId, id, connectionDetailFor(principal));
  }

  @Put(':id')
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.connection.updated', { target: 'connection', records: CONNECTION_AUDIT_FIELDS })
  update(@CurrentPrincipal() principal: Principal, @Id() id: string, @Body() body: CreateConnectionDto) {
    return this.connections.update(principal.organizationId, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated({ action: 'delete', subject: 'Connection' })
  @AuditedAs('admin.connection.deleted', { target: 'connection', records: CONNECTION_AUDIT_FIELDS })
  // The deleted connection is returned for the audit record; a 204 sends no body.
  remove(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.delete(principal.organizationId, id);
  }

  @Get(':id/health')
  @Authenticated({ action: 'read', subject: 'Connection' })
  healthOf(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.healthOf(principal.organizationId, id);
  }

  @Get(':id/tools')
  @Authenticated({ action: 'read', subject: 'Connection' })
  async tools(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    const tools = await this.connections.tools(principal.organizationId, id);
    return tools.map((tool) => ({ ...tool.definition, downstreamName: tool.downstreamName, hash: tool.hash }));
  }

  @Post(':id/test')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.connection.tested', { target: 'connection' })
  test(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.test(principal.organizationId, id);
  }

  @Post(':id/refresh')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.connection.refreshed', { target: 'connection' })
  refresh(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.refresh(principal.organizationId, id);
  }
}
