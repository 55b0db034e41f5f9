import { PlatformSettings, platformSchema } from '@gatehouse/config';
import {
  FederatedAssertion,
  FederatedIdentityRecord,
  FederatedIdentityRepository,
  FederatedSignInRecord,
  IdentityProviderSummary,
  ProvisionedMembership,
  SignInRecord,
  UserRecord,
  UserRepository,
} from '@gatehouse/db';
import { PrincipalCache } from '../auth/principal-cache';
import { FederatedAccounts } from './federated-accounts.service';
import { SsoSignInError } from './sso-sign-in.error';

// The tables, in memory: what is under test is which account an assertion may become, not how rows are written.
class Store {
  readonly users: UserRecord[] = [];
  readonly identities: FederatedIdentityRecord[] = [];
  readonly memberships: (ProvisionedMembership & { userId: string })[] = [];

  user(email: string, organizations: string[] = []): UserRecord {
    const user = { id: `user-${this.users.length + 1}`, email, name: null };
    this.users.push(user);
    for (const organizationId of organizations) this.memberships.push({ organizationId, userId: user.id, role: 'owner' });
    return user;
  }

  identity(issuer: string, subject: string, user: UserRecord, email = user.email): void {
    this.identities.push({ id: `identity-${this.identities.length + 1}`, issuer, subject, email, user });
  }

  provision(userId: string, membership: ProvisionedMembership): boolean {
    const current = this.memberships.find((row) => row.userId === userId && row.organizationId === membership.organizationId);
    if (!current) this.memberships.push({ ...membership, userId });
    if (!current || current.role === membership.role) return false;
    current.role = membership.role;
    return true;
  }
}

class FakeIdentities implements Pick<FederatedIdentityRepository, 'find' | 'findOtherSubject' | 'link' | 'signIn'> {
  constructor(private readonly store: Store) {}

  async find(issuer: string, subject: string): Promise<FederatedIdentityRecord | null> {
    return this.store.identities.find((row) => row.issuer === issuer && row.subject === subject) ?? null;
  }

  async findOtherSubject(issuer: string, subject: string, email: string, userId: string | null): Promise<FederatedIdentityRecord | null> {
    return this.store.identities.find((row) => row.issuer === issuer && row.subject !== subject && (row.email === email || row.user.id === userId)) ?? null;
  }

  async link(assertion: FederatedAssertion, userId: string | null, membership: ProvisionedMembership): Promise<FederatedSignInRecord> {
    const user = userId ? this.store.users.find((row) => row.id === userId)! : this.store.user(assertion.email);
    this.store.identity(assertion.issuer, assertion.subject, user, assertion.email);
    return { user, roleChanged: this.store.provision(user.id, membership) };
  }

  async signIn(identity: FederatedIdentityRecord, email: string, membership: ProvisionedMembership): Promise<FederatedSignInRecord> {
    identity.email = email;
    return { user: identity.user, roleChanged: this.store.provision(identity.user.id, membership) };
  }
}

class FakeUsers implements Pick<UserRepository, 'findForSignIn' | 'findRole'> {
  constructor(private readonly store: Store) {}

  async findForSignIn(email: string): Promise<SignInRecord | null> {
    const user = this.store.users.find((row) => row.email === email);
    return user ? { ...user, passwordHash: 'scrypt$…' } : null;
  }

  async findRole(organizationId: string, userId: string) {
    return this.store.memberships.find((row) => row.organizationId === organizationId && row.userId === userId)?.role ?? null;
  }
}

const ISSUER = 'https://idp.attacker.test';
const ATTACKER: IdentityProviderSummary = { id: 'idp-attacker', organization: { id: 'org-attacker', slug: 'attacker', name: 'Attacker' } };
const VICTIM: IdentityProviderSummary = { id: 'idp-victim', organization: { id: 'org-victim', slug: 'victim', name: 'Victim' } };
const PLATFORM = PlatformSettings.from(platformSchema.parse({ organizations: [{ slug: 'victim', verifiedDomains: ['victim.test'] }] }));

const assertion = (subject: string, email: string): FederatedAssertion => ({ issuer: ISSUER, subject, email, name: null });

describe('FederatedAccounts.signIn', () => {
  let store: Store;
  let invalidations: number;
  let accounts: FederatedAccounts;

  beforeEach(() => {
    store = new Store();
    invalidations = 0;
    const cache = { invalidateAll: async () => void invalidations++ } as unknown as PrincipalCache;
    accounts = new FederatedAccounts(new FakeIdentities(store) as unknown as FederatedIdentityRepository, new FakeUsers(store) as unknown as UserRepository, PLATFORM, cache);
  });

  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the sign-in to be refused');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(SsoSignInError);
        return error as SsoSignInError;
      },
    );

  it('creates a person nobody has yet, links the subject and restricts the session to the provider\'s organization', async () => {
    const signedIn = await accounts.signIn(ATTACKER, assertion('s-1', 'new@victim.test'), 'member');
    expect(signedIn).toEqual({ user: expect.objectContaining({ email: 'new@victim.test' }), link: 'new_user', restrictedTo: 'org-attacker' });
    expect(store.identities).toEqual([expect.objectContaining({ issuer: ISSUER, subject: 's-1', user: signedIn.user })]);
    expect(store.memberships).toEqual([{ organizationId: 'org-attacker', userId: signedIn.user.id, role: 'member' }]);
  });

  it('refuses to link an existing account that is not a member of the provider\'s organization, saying what to do', async () => {
    const bob = store.user('bob@victim.test', ['org-victim']);
    const error = await refusal(accounts.signIn(ATTACKER, assertion('s-bob', 'bob@victim.test'), 'owner'));
    expect(error.code).toBe('account_exists');
    expect(error.message).toBe(
      'An account with bob@victim.test already exists, and the identity provider of Attacker cannot sign it in. Sign in with your password or through your own organization\'s sign-in. If Attacker owns victim.test, the deployment operator can verify that domain for it in platform.organizations.',
    );
    expect(store.identities).toEqual([]);
    expect(store.memberships).toEqual([{ organizationId: 'org-victim', userId: bob.id, role: 'owner' }]);
  });

  it('links an existing account that is a member of the provider\'s organization, restricted to it, its role kept in step', async () => {
    const bob = store.user('bob@victim.test', ['org-victim', 'org-attacker']);
    const signedIn = await accounts.signIn(ATTACKER, assertion('s-bob', 'bob@victim.test'), 'member');
    expect(signedIn).toEqual({ user: bob, link: 'member', restrictedTo: 'org-attacker' });
    expect(store.memberships).toContainEqual({ organizationId: 'org-attacker', userId: bob.id, role: 'member' });
    // Credentials cache their role: a changed one evicts them everywhere.
    expect(invalidations).toBe(1);
  });

  it('links an existing account whose domain the operator verified for the provider\'s organization, with a full session', async () => {
    const bob = store.user('bob@victim.test', ['org-partner']);
    const signedIn = await accounts.signIn(VICTIM, assertion('s-bob', 'bob@victim.test'), 'member');
    expect(signedIn).toEqual({ user: bob, link: 'verified_domain', restrictedTo: null });
    expect(store.memberships).toContainEqual({ organizationId: 'org-victim', userId: bob.id, role: 'member' });
  });

  it('signs a returning subject in as the user it is linked to, whatever email it asserts now', async () => {
    const eve = store.user('eve@victim.test');
    store.user('bob@victim.test', ['org-victim']);
    store.identity(ISSUER, 's-eve', eve);
    const signedIn = await accounts.signIn(ATTACKER, assertion('s-eve', 'bob@victim.test'), 'member');
    expect(signedIn).toEqual({ user: eve, link: 'returning', restrictedTo: 'org-attacker' });
    expect(store.identities[0]!.email).toBe('bob@victim.test');
  });

  it('decides a full session by the account\'s email, not by the email asserted today', async () => {
    const eve = store.user('eve@elsewhere.test', ['org-victim']);
    store.identity(ISSUER, 's-eve', eve);
    expect((await accounts.signIn(VICTIM, assertion('s-eve', 'bob@victim.test'), 'member')).restrictedTo).toBe('org-victim');
  });

  it('refuses a second subject of the same issuer for an account already linked there, or for an email another subject asserted', async () => {
    const bob = store.user('bob@victim.test', ['org-attacker']);
    store.identity(ISSUER, 's-bob', bob);
    const sameAccount = await refusal(accounts.signIn(ATTACKER, assertion('s-other', 'bob@victim.test'), 'member'));
    expect(sameAccount.code).toBe('subject_conflict');
    expect(sameAccount.message).toMatch(/^bob@victim\.test already signs in through the identity provider of Attacker with another account there\. /);

    const eve = store.user('eve@victim.test');
    store.identity(ISSUER, 's-eve', eve, 'carol@victim.test');
    expect((await refusal(accounts.signIn(ATTACKER, assertion('s-carol', 'carol@victim.test'), 'member'))).code).toBe('subject_conflict');
    expect(store.users.map((user) => user.email)).not.toContain('carol@victim.test');
  });

  it('links the same account at another issuer', async () => {
    const bob = store.user('bob@victim.test', ['org-attacker']);
    store.identity('https://idp.other.test', 's-bob', bob);
    expect((await accounts.signIn(ATTACKER, assertion('s-bob', 'bob@victim.test'), 'member')).link).toBe('member');
  });
});
