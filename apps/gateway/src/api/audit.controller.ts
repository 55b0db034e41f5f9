import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditVerifier } from '@gatehouse/audit';
import { Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';

@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly verifier: AuditVerifier) {}

  /** Recomputes the caller's organization's chain and checkpoints; chains what was appended first. */
  @Get('verify')
  @Authenticated({ action: 'read', subject: 'Audit' })
  verify(@CurrentPrincipal() principal: Principal) {
    return this.verifier.verify(principal.organizationId, { chainFirst: true });
  }
}
