import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { AuditSettingsService } from '@gatehouse/audit';
import { auditSettingsSchema } from '@gatehouse/config';
import { auditActorOf, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';

export class AuditSettingsDto extends createZodDto(auditSettingsSchema) {}

// The organization's audit settings (detail level, fail mode, retention, redaction paths), replaced as a whole.
@ApiTags('audit')
@Controller('api/v1/audit/settings')
export class AuditSettingsController {
  constructor(private readonly settings: AuditSettingsService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Audit' })
  get(@CurrentPrincipal() principal: Principal) {
    return this.settings.forOrganization(principal.organizationId);
  }

  @Put()
  @Authenticated({ action: 'update', subject: 'Audit' })
  replace(@CurrentPrincipal() principal: Principal, @Body() body: AuditSettingsDto) {
    return this.settings.update(principal.organizationId, body, auditActorOf(principal));
  }
}
