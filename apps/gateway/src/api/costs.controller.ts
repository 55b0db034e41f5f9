import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { BudgetSettings } from '@gatehouse/governance';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ZodResponse } from 'nestjs-zod';
import { CostsDto } from './api.dto';
import { CostsViewDto } from './usage.dto';

// The organization's price per call, by connection or tool, replaced as a whole.
@ApiTags('budgets')
@Controller('api/v1/costs')
export class CostsController {
  constructor(private readonly settings: BudgetSettings) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Budget' })
  @ZodResponse({ status: 200, type: CostsViewDto })
  get(@CurrentPrincipal() principal: Principal) {
    return this.settings.costs(principal.organizationId);
  }

  @Put()
  @Authenticated({ action: 'update', subject: 'Budget' })
  @AuditedAs('admin.costs.updated', { target: 'costs' })
  @ZodResponse({ status: 200, type: CostsViewDto })
  replace(@CurrentPrincipal() principal: Principal, @Body() body: CostsDto) {
    return this.settings.replaceCosts(principal.organizationId, body);
  }
}
