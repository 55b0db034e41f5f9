import { Injectable } from '@nestjs/common';
import { PlatformSettings, RoleName } from '@gatehouse/config';
import { FederatedAssertion, FederatedIdentityRepository, FederatedSignInRecord, IdentityProviderSummary, UserRecord, UserRepository } from '@gatehouse/db';
import { PrincipalCache } from '../auth/principal-cache';
import { emailDomain, emailDomainAllowed } from './role-mapping';
import { SsoSignInError } from './sso-sign-in.error';

/** How an assertion found its user: a subject signed in before, or a first sign-in and the rule that allowed the link. */
export type FederatedLink = 'returning' | 'new_user' | 'member' | 'verified_domain';

export interface FederatedSignIn {
  user: UserRecord;
  link: FederatedLink;
  /** The only organization the browser session may act in; null for a full session. */
  restrictedTo: string | null;
}

// Which account a sign-in through an organization's identity provider is, and what it may reach. An organization's
// admin controls their provider and so every claim it makes: its word is taken for the people of its own
// organization, and beyond it only for the email domains the deployment operator verified the organization owns.
@Injectable()
export class FederatedAccounts {
  constructor(
    private readonly identities: FederatedIdentityRepository,
    private readonly users: UserRepository,
    private readonly platform: PlatformSettings,
    private readonly cache: PrincipalCache,
  ) {}

  /**
   * Signs in the user linked to (issuer, subject), or links a first sign-in when that is safe, provisioning them into
   * the provider's organization with `role`. The email must already be verified and of an allowed domain.
   */
  async signIn(provider: IdentityProviderSummary, assertion: FederatedAssertion, role: RoleName): Promise<FederatedSignIn> {
    const membership = { organizationId: provider.organization.id, role };
    const known = await this.identities.find(assertion.issuer, assertion.subject);
    let link: FederatedLink = 'returning';
    let signedIn: FederatedSignInRecord;
    if (known) {
      signedIn = await this.identities.signIn(known, assertion.email, membership);
    } else {
      const target = await this.linkTarget(provider, assertion);
      link = target.link;
      signedIn = await this.identities.link(assertion, target.userId, membership);
    }
    // Tokens cache the role they were authenticated with; the next request must see the new one.
    if (signedIn.roleChanged) await this.cache.invalidateAll();
    // The account's own email decides, not what the provider asserts today.
    const full = emailDomainAllowed(signedIn.user.email, this.platform.verifiedDomains(provider.organization.slug));
    return { user: signedIn.user, link, restrictedTo: full ? null : provider.organization.id };
  }

  // A first sign-in links to the account with the asserted email only when the provider's word is enough for it:
  // nobody has that account yet, the person already belongs to the provider's organization, or the operator
  // verified the email's domain for that organization.
  private async linkTarget(provider: IdentityProviderSummary, assertion: FederatedAssertion): Promise<{ userId: string | null; link: FederatedLink }> {
    const { email } = assertion;
    const organization = provider.organization.name;
    const existing = await this.users.findForSignIn(email);
    if (await this.identities.findOtherSubject(assertion.issuer, assertion.subject, email, existing?.id ?? null)) {
      throw new SsoSignInError(
        'subject_conflict',
        `${email} already signs in through the identity provider of ${organization} with another account there. Sign in with that account, or ask an administrator of ${organization} to check the provider's accounts.`,
      );
    }
    if (!existing) return { userId: null, link: 'new_user' };
    if (await this.users.findRole(provider.organization.id, existing.id)) return { userId: existing.id, link: 'member' };
    if (emailDomainAllowed(email, this.platform.verifiedDomains(provider.organization.slug))) return { userId: existing.id, link: 'verified_domain' };
    throw new SsoSignInError(
      'account_exists',
      `An account with ${email} already exists, and the identity provider of ${organization} cannot sign it in. Sign in with your password or through your own organization's sign-in. If ${organization} owns ${emailDomain(email)}, the deployment operator can verify that domain for it in platform.organizations.`,
    );
  }
}
