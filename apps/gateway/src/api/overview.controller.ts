import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { OverviewService } from '@gatehouse/governance';
import { Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { OverviewDto } from './overview.dto';

// The dashboard's landing page. Its core is the record of what happened (calls, SIEM delivery, the chain), so it
// is for those who read the audit log (admins and auditors); the other tiles follow the caller's abilities.
@ApiTags('overview')
@Controller('api/v1/overview')
export class OverviewController {
  constructor(private readonly overview: OverviewService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Audit' })
  @ZodResponse({ status: 200, type: OverviewDto, description: 'Calls, latency, spend, approvals, tool changes, connections, SIEM delivery and the audit chain' })
  get(@CurrentPrincipal() principal: Principal) {
    return this.overview.overview(principal);
  }
}
