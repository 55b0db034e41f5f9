import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { createZodDto, ZodResponse, ZodValidationPipe } from 'nestjs-zod';
import { z } from 'zod';
import { auditSinkPatchSchema, AuditSinkService } from '@gatehouse/audit';
import { ApiAuditSinkSpec, apiAuditSinkSchema } from '@gatehouse/config';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { AuditSinkDto } from './audit.dto';

class DeletedSinkDto extends createZodDto(z.object({ deleted: z.literal(true) })) {}

class AuditSinkPatchDto extends createZodDto(auditSinkPatchSchema) {}

// A union (by type) cannot be a DTO class, so the body is validated by a pipe of its own.
const SinkBody = () => Body(new ZodValidationPipe(apiAuditSinkSchema));
const Id = () => Param('id', new ParseUUIDPipe({ version: '4' }));
const TARGET = { target: 'audit_sink' };

// The organization's SIEM sinks, with their delivery state (cursor, lag, failures, dead letter). Sinks from the
// config file answer 409 to changes, except retry.
@ApiTags('audit')
@Controller('api/v1/audit/sinks')
export class AuditSinksController {
  constructor(private readonly sinks: AuditSinkService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Audit' })
  @ZodResponse({ status: 200, type: [AuditSinkDto] })
  list(@CurrentPrincipal() principal: Principal) {
    return this.sinks.list(principal.organizationId);
  }

  @Get(':id')
  @Authenticated({ action: 'read', subject: 'Audit' })
  @ZodResponse({ status: 200, type: AuditSinkDto })
  get(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.sinks.get(principal.organizationId, id);
  }

  /** The webhook secret or HEC token is stored encrypted and never shown again. */
  @Post()
  @Authenticated({ action: 'update', subject: 'Audit' })
  @AuditedAs('admin.audit_sink.created', TARGET)
  @ZodResponse({ status: 201, type: AuditSinkDto })
  create(@CurrentPrincipal() principal: Principal, @SinkBody() body: ApiAuditSinkSpec) {
    return this.sinks.create(principal.organizationId, body);
  }

  @Put(':id')
  @Authenticated({ action: 'update', subject: 'Audit' })
  @AuditedAs('admin.audit_sink.replaced', TARGET)
  @ZodResponse({ status: 200, type: AuditSinkDto })
  replace(@CurrentPrincipal() principal: Principal, @Id() id: string, @SinkBody() body: ApiAuditSinkSpec) {
    return this.sinks.replace(principal.organizationId, id, body);
  }

  @Patch(':id')
  @Authenticated({ action: 'update', subject: 'Audit' })
  @AuditedAs('admin.audit_sink.updated', TARGET)
  @ZodResponse({ status: 200, type: AuditSinkDto })
  patch(@CurrentPrincipal() principal: Principal, @Id() id: string, @Body() body: AuditSinkPatchDto) {
    return this.sinks.patch(principal.organizationId, id, body);
  }

  @Delete(':id')
  @Authenticated({ action: 'update', subject: 'Audit' })
  @AuditedAs('admin.audit_sink.deleted', TARGET)
  @ZodResponse({ status: 200, type: DeletedSinkDto })
  remove(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.sinks.remove(principal.organizationId, id);
  }

  /** Out of dead_letter: delivery resumes from the sink's cursor. */
  @Post(':id/retry')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Audit' })
  @AuditedAs('admin.audit_sink.retried', TARGET)
  @ZodResponse({ status: 200, type: AuditSinkDto })
  retry(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.sinks.retry(principal.organizationId, id);
  }
}
