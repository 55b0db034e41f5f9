import { Controller, Get, Param, ParseUUIDPipe, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ZodResponse } from 'nestjs-zod';
import { AuditQueryService, AuditVerifier, streamDownload } from '@gatehouse/audit';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { AuditExportQueryDto, AuditListQueryDto, AuditPageDto, AuditVerificationDto, CallTimelineDto } from './audit.dto';

@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(
    private readonly verifier: AuditVerifier,
    private readonly audit: AuditQueryService,
  ) {}

  /** Recomputes the caller's organization's chain and checkpoints; chains what was appended first. */
  @Get('verify')
  @Authenticated({ action: 'read', subject: 'Audit' })
  @ZodResponse({ status: 200, type: AuditVerificationDto })
  verify(@CurrentPrincipal() principal: Principal) {
    return this.verifier.verify(principal.organizationId, { chainFirst: true });
  }

  @Get('records')
  @Authenticated({ action: 'read', subject: 'Audit' })
  @ZodResponse({ status: 200, type: AuditPageDto, description: 'A page of records, newest first, with cursors to the older and newer pages' })
  records(@CurrentPrincipal() principal: Principal, @Query() query: AuditListQueryDto) {
    return this.audit.list(principal.organizationId, query);
  }

  @Get('calls/:callId')
  @Authenticated({ action: 'read', subject: 'Audit' })
  @ZodResponse({ status: 200, type: CallTimelineDto, description: "One tools/call's steps and records" })
  call(@CurrentPrincipal() principal: Principal, @Param('callId', new ParseUUIDPipe()) callId: string) {
    return this.audit.call(principal.organizationId, callId);
  }

  // Streamed, so the response is written here rather than returned (@Res): see streamDownload. Who took a copy
  // of the log is itself recorded.
  @Get('export')
  @Authenticated({ action: 'read', subject: 'Audit' })
  @AuditedAs('audit.exported', { target: 'audit_log' })
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiOkResponse({ description: 'An attachment: native events (ndjson), CSV, or OCSF API Activity events (ndjson), oldest first' })
  async export(@CurrentPrincipal() principal: Principal, @Query() query: AuditExportQueryDto, @Res() response: Response): Promise<void> {
    await streamDownload(response, this.audit.export(principal.organizationId, query));
  }
}
