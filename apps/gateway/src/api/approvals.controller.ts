import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApprovalService } from '@gatehouse/governance';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ZodResponse } from 'nestjs-zod';
import { ApprovalDto, ApprovalListQueryDto, ApproveDto, DecidedApprovalDto, DenyDto } from './api.dto';

const Id = () => Param('id', new ParseUUIDPipe({ version: '4' }));

// Approval requests: who sees and decides which is the approval service's rule (approver roles per request).
@ApiTags('approvals')
@Controller('api/v1/approvals')
export class ApprovalsController {
  constructor(private readonly approvals: ApprovalService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Approval' })
  @ZodResponse({ status: 200, type: [ApprovalDto], description: 'Newest first, a page of `limit` (default 200); the next page: `before` = the last id' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ApprovalListQueryDto) {
    return this.approvals.list(principal, query);
  }

  @Get(':id')
  @Authenticated({ action: 'read', subject: 'Approval' })
  @ZodResponse({ status: 200, type: ApprovalDto })
  get(@CurrentPrincipal() principal: Principal, @Id() id: string) {
    return this.approvals.get(principal, id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Approval' })
  @AuditedAs('admin.approval.approved', { target: 'approval_request' })
  @ZodResponse({ status: 200, type: DecidedApprovalDto })
  approve(@CurrentPrincipal() principal: Principal, @Id() id: string, @Body() body: ApproveDto) {
    return this.approvals.decide(principal, id, true, body.reason);
  }

  @Post(':id/deny')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Approval' })
  @AuditedAs('admin.approval.denied', { target: 'approval_request' })
  @ZodResponse({ status: 200, type: DecidedApprovalDto })
  deny(@CurrentPrincipal() principal: Principal, @Id() id: string, @Body() body: DenyDto) {
    return this.approvals.decide(principal, id, false, body.reason);
  }
}
