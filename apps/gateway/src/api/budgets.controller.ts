import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { BudgetService } from '@gatehouse/governance';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ZodResponse } from 'nestjs-zod';
import { BudgetsDto } from './api.dto';
import { BudgetBurnDownDto, BudgetOverviewDto } from './usage.dto';

// The organization's spending limits, replaced as a whole, each with what was spent in its current period.
@ApiTags('budgets')
@Controller('api/v1/budgets')
export class BudgetsController {
  constructor(private readonly budgets: BudgetService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Budget' })
  @ZodResponse({ status: 200, type: BudgetOverviewDto })
  get(@CurrentPrincipal() principal: Principal) {
    return this.budgets.overview(principal.organizationId);
  }

  /** Each budget's current period as it burned down, with the reservations of calls under way. */
  @Get('burn-down')
  @Authenticated({ action: 'read', subject: 'Budget' })
  @ZodResponse({ status: 200, type: BudgetBurnDownDto })
  burnDown(@CurrentPrincipal() principal: Principal) {
    return this.budgets.burnDown(principal.organizationId);
  }

  @Put()
  @Authenticated({ action: 'update', subject: 'Budget' })
  @AuditedAs('admin.budgets.updated', { target: 'budgets' })
  @ZodResponse({ status: 200, type: BudgetOverviewDto })
  replace(@CurrentPrincipal() principal: Principal, @Body() body: BudgetsDto) {
    return this.budgets.replace(principal.organizationId, body);
  }
}
