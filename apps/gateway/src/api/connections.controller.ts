import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { isAdministrator } from '@gatehouse/config';
import { CONNECTION_AUDIT_FIELDS, ConnectionDetail, ConnectionService } from '@gatehouse/connections';
import { ConnectionToolsService } from '@gatehouse/governance';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { CreateConnectionDto } from './api.dto';
import { ConnectionDto, ConnectionHealthDto, ConnectionTestResultDto, ConnectionToolDto } from './connections.dto';

const Id = () => Param('id', new ParseUUIDPipe({ version: '4' }));

/** Admins see how a connection is configured; others what it is (see ConnectionDetail). */
function connectionDetailFor(principal: Principal): ConnectionDetail {
  return isAdministrator(principal.role) ? 'full' : 'summary';
}

@ApiTags('connections')
@Controller('api/v1/connections')
export class ConnectionsController {
  constructor(
    private readonly connections: ConnectionService,
    private readonly tools: ConnectionToolsService,
  ) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Connection' })
  @ZodResponse({ status: 200, type: [ConnectionDto] })
  list(@CurrentPrincipal() principal: Principal) {
    return this.connections.list(principal.organizationId, connectionDetailFor(principal));
  }

  @Get('health')
  @Authenticated({ action: 'read', subject: 'Connection' })
  @ZodResponse({ status: 200, type: [ConnectionHealthDto] })
  health(@CurrentPrincipal() principal: Principal) {
    return this.connections.health(principal.organizationId);
  }

  @Post()
  @Authenticated({ action: 'create', subject: 'Connection' })
  @AuditedAs('admin.connection.created', { target: 'connection', records: CONNECTION_AUDIT_FIELDS })
  @ZodResponse({ status: 201, type: ConnectionDto })
  create(@CurrentPrincipal() principal: Principal, @Body() body: CreateConnectionDto) {
    return this.connections.create(principal.organizationId, body);
  }

  // Before saving: the body create takes, admitted as create admits it; nothing is stored or started. Creating
  // a connection is what it prepares, so it needs that permission.
  @Post('test')
  @HttpCode(200)
  @Authenticated({ action: 'create', subject: 'Connection' })
  @AuditedAs('admin.connection.tested_unsaved', { target: 'connection', records: ['ok', 'error'] })
  @ZodResponse({ status: 200, type: ConnectionTestResultDto })
  testUnsaved(@Body() body: CreateConnectionDto) {
    return this.connections.testSpec(body);
  }

  @Get(':id')
  @Authenticated({ action: 'read', subject: 'Connection' })
  @ZodResponse({ status: 200, type: ConnectionDto })
  get(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.get(principal.organizationId, id, connectionDetailFor(principal));
  }

  @Put(':id')
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.connection.updated', { target: 'connection', records: CONNECTION_AUDIT_FIELDS })
  @ZodResponse({ status: 200, type: ConnectionDto })
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
  @ZodResponse({ status: 200, type: ConnectionHealthDto })
  healthOf(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.healthOf(principal.organizationId, id);
  }

  @Get(':id/tools')
  @Authenticated({ action: 'read', subject: 'Connection' })
  @ZodResponse({ status: 200, type: [ConnectionToolDto] })
  listTools(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.tools.list(principal.organizationId, id);
  }

  @Post(':id/test')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.connection.tested', { target: 'connection' })
  @ZodResponse({ status: 200, type: ConnectionTestResultDto })
  test(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.test(principal.organizationId, id);
  }

  @Post(':id/refresh')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.connection.refreshed', { target: 'connection' })
  @ZodResponse({ status: 200, type: ConnectionHealthDto })
  refresh(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.refresh(principal.organizationId, id);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.connection.enabled', { target: 'connection', records: CONNECTION_AUDIT_FIELDS })
  @ZodResponse({ status: 200, type: ConnectionDto })
  enable(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.setEnabled(principal.organizationId, id, true);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.connection.disabled', { target: 'connection', records: CONNECTION_AUDIT_FIELDS })
  @ZodResponse({ status: 200, type: ConnectionDto })
  disable(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.connections.setEnabled(principal.organizationId, id, false);
  }
}
