import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { PolicyService } from '@gatehouse/governance';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { PolicyDto } from './api.dto';

// The organization's policy: its default effect, ordered rules and tool class overrides, replaced as a whole
// so that every version is one consistent rule set (and recorded as a revision).
@ApiTags('policies')
@Controller('api/v1/policies')
export class PoliciesController {
  constructor(private readonly policies: PolicyService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Policy' })
  get(@CurrentPrincipal() principal: Principal) {
    return this.policies.get(principal.organizationId);
  }

  @Put()
  @Authenticated({ action: 'update', subject: 'Policy' })
  @AuditedAs('admin.policy.updated', { target: 'policy' })
  replace(@CurrentPrincipal() principal: Principal, @Body() body: PolicyDto) {
    return this.policies.replace(principal, body, 'admin_api');
  }

  @Get('revisions')
  @Authenticated({ action: 'read', subject: 'Policy' })
  revisions(@CurrentPrincipal() principal: Principal) {
    return this.policies.revisions(principal.organizationId);
  }
}
