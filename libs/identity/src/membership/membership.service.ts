import { Injectable } from '@nestjs/common';
import { GatehouseError, RoleName } from '@gatehouse/config';
import { MemberRecord, MemberRefusal, MembershipRepository } from '@gatehouse/db';
import { Principal } from '../auth/principal';
import { PrincipalCache } from '../auth/principal-cache';

export interface RemovedMember extends MemberRecord {
  /** The member's keys and OAuth grants in the organization, revoked with the membership. */
  revokedKeyIds: string[];
}

// Offboarding through the admin API. Admins manage members up to their own role (only owners touch owners),
// the last owner stays, and memberships the config file declares are changed in the file. Every replica
// forgets the person's cached credentials, so a demotion or removal applies at their next call everywhere.
@Injectable()
export class MembershipService {
  constructor(
    private readonly repository: MembershipRepository,
    private readonly cache: PrincipalCache,
  ) {}

  list(organizationId: string): Promise<MemberRecord[]> {
    return this.repository.list(organizationId);
  }

  async find(organizationId: string, userId: string): Promise<MemberRecord> {
    const member = await this.repository.find(organizationId, userId);
    if (!member) throw GatehouseError.notFound(`Member ${userId} not found`);
    return member;
  }

  async changeRole(principal: Principal, userId: string, role: RoleName): Promise<MemberRecord> {
    const outcome = await this.repository.changeRole(principal.organizationId, userId, role, principal.role);
    if (outcome.outcome !== 'changed') throw refusal(outcome, principal, userId);
    if (outcome.previousRole !== role) await this.cache.memberChanged(principal.organizationId, userId);
    return outcome.member;
  }

  async remove(principal: Principal, userId: string): Promise<RemovedMember> {
    const outcome = await this.repository.remove(principal.organizationId, userId, principal.role, new Date());
    if (outcome.outcome !== 'removed') throw refusal(outcome, principal, userId);
    await this.cache.memberChanged(principal.organizationId, userId);
    return { ...outcome.member, revokedKeyIds: outcome.revokedKeyIds };
  }
}

function refusal(outcome: MemberRefusal, principal: Principal, userId: string): GatehouseError {
  switch (outcome.outcome) {
    case 'not_found':
      return GatehouseError.notFound(`Member ${userId} not found`);
    case 'config_managed':
      return GatehouseError.conflict('This membership is managed by the config file; change it there');
    case 'above_ceiling':
      return GatehouseError.forbidden(`Your role (${principal.role}) cannot manage the role ${outcome.role}: only an owner changes owners or makes one`);
    case 'last_owner':
      return GatehouseError.conflict("The organization's last owner cannot be removed or demoted; make someone else owner first");
  }
}
