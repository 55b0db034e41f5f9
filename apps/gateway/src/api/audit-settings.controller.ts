import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { z } from 'zod';
import { AuditSettingsService } from '@gatehouse/audit';
import { AUDIT_FAIL_MODES, AUDIT_LEVELS, auditSettingsSchema } from '@gatehouse/config';
import { auditActorOf, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';

export class AuditSettingsDto extends createZodDto(auditSettingsSchema) {}
export class StoredAuditSettingsDto extends createZodDto(
  z.object({
    level: z.enum(AUDIT_LEVELS),
    failMode: z.enum(AUDIT_FAIL_MODES),
    retentionDays: z.number().int().nullable().describe('Null: kept for ever'),
    redactPaths: z.array(z.string()),
    resultMaxBytes: z.number().int(),
    configManaged: z.boolean(),
  }),
) {}

// The organization's audit settings (detail level, fail mode, retention, redaction paths), replaced as a whole.
@ApiTags('audit')
@Controller('api/v1/audit/settings')
export class AuditSettingsController {
  constructor(private readonly settings: AuditSettingsService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Audit' })
  @ZodResponse({ status: 200, type: StoredAuditSettingsDto })
  get(@CurrentPrincipal() principal: Principal) {
    return this.settings.forOrganization(principal.organizationId);
  }

  @Put()
  @Authenticated({ action: 'update', subject: 'Audit' })
  @ZodResponse({ status: 200, type: StoredAuditSettingsDto })
  replace(@CurrentPrincipal() principal: Principal, @Body() body: AuditSettingsDto) {
    return this.settings.update(principal.organizationId, body, auditActorOf(principal));
  }
}
