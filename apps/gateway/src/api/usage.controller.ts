import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { UsageService } from '@gatehouse/governance';
import { Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ZodResponse } from 'nestjs-zod';
import { UsageQueryDto } from './api.dto';
import { UsageReportDto } from './usage.dto';

// Calls and spend for a time range, grouped by connection, tool or member.
@ApiTags('budgets')
@Controller('api/v1/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Usage' })
  @ZodResponse({ status: 200, type: UsageReportDto })
  report(@CurrentPrincipal() principal: Principal, @Query() query: UsageQueryDto) {
    return this.usage.report(principal.organizationId, query);
  }
}
