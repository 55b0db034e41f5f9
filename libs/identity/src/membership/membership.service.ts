import { Injectable } from '@nestjs/common';
import { GatehouseError, RoleName } from '@gatehouse/config';
import { IdentityProviderRepository, MemberRecord, MemberRefusal, MembershipRepository } from '@gatehouse/db';
import { PasswordSetupLinks } from '../account/password-setup-links.service';
import { Principal } from '../auth/principal';
import { PrincipalCache } from '../auth/principal-cache';
import { OAuthSettings } from '../oauth/oauth-settings';
import { emailDomainAllowed } from '../sso/role-mapping';
import { AddMemberInput } from './membership.schema';

export interface RemovedMember extends MemberRecord {
  /** The member's keys and OAuth grants in the organization, revoked with the membership. */
  revokedKeyIds: string[];
}

/**
 * How a person just added signs in: through the organization's identity provider (it accepts their email's
 * domain), with the password they already have, or with one they choose at a one-time link the admin passes on.
 */
export type NewMemberSignIn =
  | { method: 'identity_provider' }
  | { method: 'password' }
  | { method: 'set_password_link'; setPasswordUrl: string; expiresAt: Date };

export interface AddedMember {
  member: MemberRecord;
  signIn: NewMemberSignIn;
}

// Onboarding and offboarding through the admin API. Admins manage members up to their own role (only owners touch owners),
// the last owner stays, and memberships the config file declares are changed in the file. Every replica
// forgets the person's cached credentials, so a demotion or removal applies at their next call everywhere.
@Injectable()
export class MembershipService {
  constructor(
    private readonly repository: MembershipRepository,
    private readonly cache: PrincipalCache,
    private readonly providers: IdentityProviderRepository,
    private readonly links: PasswordSetupLinks,
    private readonly settings: OAuthSettings,
  ) {}

  list(organizationId: string): Promise<MemberRecord[]> {
    return this.repository.list(organizationId);
  }

  async find(organizationId: string, userId: string): Promise<MemberRecord> {
    const member = await this.repository.find(organizationId, userId);
    if (!member) throw GatehouseError.notFound(`Member ${userId} not found`);
    return member;
  }

  /** Adds a person with a role up to the adder's own; no one's password is set or changed here. */
  async add(principal: Principal, input: AddMemberInput): Promise<AddedMember> {
    const { organizationId } = principal;
    const outcome = await this.repository.add(organizationId, { email: input.email, name: input.name ?? null, role: input.role }, principal.role);
    if (outcome.outcome === 'already_member') throw GatehouseError.conflict(`${input.email} is already a member of this organization`);
    if (outcome.outcome === 'above_ceiling') throw refusal(outcome, principal, input.email);
    return { member: outcome.member, signIn: await this.signInOf(organizationId, outcome.member, outcome.hasPassword) };
  }

  private async signInOf(organizationId: string, member: MemberRecord, hasPassword: boolean): Promise<NewMemberSignIn> {
    const provider = await this.providers.findByOrganization(organizationId);
    if (provider && emailDomainAllowed(member.email, provider.allowedDomains)) return { method: 'identity_provider' };
    if (hasPassword) return { method: 'password' };
    const link = await this.links.create(member.userId, organizationId);
    const url = new URL('/admin/sign-in/set-password', this.settings.issuer);
    url.searchParams.set('token', link.token);
    return { method: 'set_password_link', setPasswordUrl: url.href, expiresAt: link.expiresAt };
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
