import { Body, Controller, Get, HttpCode, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { PolicyService } from '@gatehouse/governance';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { PolicyPreview } from '@gatehouse/mcp';
import { PolicyDto } from './api.dto';
import { PolicyPreviewDto, PolicyPreviewRequestDto, PolicyRevisionDto, PolicyValidationDto, StoredPolicyDto } from './policies.dto';

// The organization's policy: its default effect, ordered rules and tool class overrides, replaced as a whole
// so that every version is one consistent rule set (and recorded as a revision). Validate and preview store nothing.
@ApiTags('policies')
@Controller('api/v1/policies')
export class PoliciesController {
  constructor(
    private readonly policies: PolicyService,
    private readonly preview: PolicyPreview,
  ) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Policy' })
  @ZodResponse({ status: 200, type: StoredPolicyDto })
  get(@CurrentPrincipal() principal: Principal) {
    return this.policies.get(principal.organizationId);
  }

  @Put()
  @Authenticated({ action: 'update', subject: 'Policy' })
  @AuditedAs('admin.policy.updated', { target: 'policy' })
  @ZodResponse({ status: 200, type: StoredPolicyDto })
  replace(@CurrentPrincipal() principal: Principal, @Body() body: PolicyDto) {
    return this.policies.replace(principal, body, 'admin_api');
  }

  /** The body PUT would take, checked and compiled: 400 with each problem's path, or valid. */
  @Post('validate')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Policy' })
  @ZodResponse({ status: 200, type: PolicyValidationDto })
  validate(@Body() body: PolicyDto) {
    return this.policies.validate(body);
  }

  /** The tools a member or key would see under a draft (or the policy in force). */
  @Post('preview')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Policy' })
  @ZodResponse({ status: 200, type: PolicyPreviewDto })
  previewAs(@CurrentPrincipal() principal: Principal, @Body() body: PolicyPreviewRequestDto) {
    return this.preview.preview(principal, body);
  }

  @Get('revisions')
  @Authenticated({ action: 'read', subject: 'Policy' })
  @ZodResponse({ status: 200, type: [PolicyRevisionDto] })
  revisions(@CurrentPrincipal() principal: Principal) {
    return this.policies.revisions(principal.organizationId);
  }
}
