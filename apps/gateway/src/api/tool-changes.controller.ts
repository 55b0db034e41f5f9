import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ToolChangeService } from '@gatehouse/connections';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ZodResponse } from 'nestjs-zod';
import { AcceptedToolChangeDto, AcceptToolChangeDto, OrganizationToolChangeDto, ToolChangeDto } from './api.dto';

const Id = () => Param('id', new ParseUUIDPipe({ version: '4' }));

// Tool definition pinning: changed downstream tool definitions wait here, held back, for an admin's review.
@ApiTags('connections')
@Controller('api/v1/connections/:id/tool-changes')
export class ToolChangesController {
  constructor(private readonly changes: ToolChangeService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Connection' })
  @ZodResponse({ status: 200, type: [ToolChangeDto] })
  list(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.changes.list(principal.organizationId, id);
  }

  @Post(':toolName/accept')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Connection' })
  @AuditedAs('admin.tool_change.accepted', { target: 'connection' })
  @ZodResponse({ status: 200, type: AcceptedToolChangeDto })
  accept(
    @CurrentPrincipal() principal: Principal,
    @Id() id: string,
    @Param('toolName') toolName: string,
    @Body() body: AcceptToolChangeDto,
  ) {
    return this.changes.accept(principal.organizationId, id, toolName, body.hash, principal.subject);
  }
}

// Every connection's held-back tools at once: the dashboard's review queue.
@ApiTags('connections')
@Controller('api/v1/tool-changes')
export class OrganizationToolChangesController {
  constructor(private readonly changes: ToolChangeService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Connection' })
  @ZodResponse({ status: 200, type: [OrganizationToolChangeDto] })
  list(@CurrentPrincipal() principal: Principal) {
    return this.changes.listAll(principal.organizationId);
  }
}
