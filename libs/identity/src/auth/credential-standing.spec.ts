import type { CredentialRecord, MintingKey } from '@gatehouse/db';
import { principalOf } from './credential-standing';

const ORG = { id: 'org-1', slug: 'acme' };

function credential(overrides: Partial<CredentialRecord> = {}): CredentialRecord {
  return {
    id: 'key',
    kind: 'api_key',
    name: 'ci',
    prefix: 'ghk_abcdef',
    role: 'admin',
    access: 'read_write',
    revokedAt: null,
    expiresAt: null,
    endpoint: null,
    organization: ORG,
    userId: null,
    userEmail: null,
    memberRole: null,
    createdByKeyId: null,
    mintedBy: [],
    clientId: null,
    client: null,
    ...overrides,
  };
}

const minting = (id: string, overrides: Partial<MintingKey> = {}): MintingKey => ({ id, role: 'owner', access: 'read_write', revokedAt: null, expiresAt: null, createdByKeyId: null, ...overrides });

describe('principalOf', () => {
  it('gives a person’s key the lower of its role and the person’s role now', () => {
    const person = { userId: 'u1', userEmail: 'u1@acme.test' };
    expect(principalOf(credential({ ...person, role: 'admin', memberRole: 'owner' }))).toMatchObject({ role: 'admin', userId: 'u1', rootKeyId: null });
    expect(principalOf(credential({ ...person, role: 'admin', memberRole: 'member' }))).toMatchObject({ role: 'member' });
    expect(principalOf(credential({ ...person, role: 'contractor', memberRole: 'admin' }))).toMatchObject({ role: 'contractor' });
  });

  it('stops an auditor’s key whose person is now a member, and a minted key whose chain shares no role with it', () => {
    const person = { userId: 'u1', userEmail: 'u1@acme.test' };
    expect(principalOf(credential({ ...person, role: 'auditor', memberRole: 'admin' }))).toMatchObject({ role: 'auditor' });
    expect(principalOf(credential({ ...person, role: 'auditor', memberRole: 'member' }))).toBe('role_withdrawn');
    expect(principalOf(credential({ role: 'member', createdByKeyId: 'root', mintedBy: [minting('root', { role: 'auditor' })] }))).toBe('role_withdrawn');
  });

  it('stops a person’s key and OAuth grant once the person is no longer a member, and a revoked one at once', () => {
    expect(principalOf(credential({ userId: 'u1', memberRole: null }))).toBe('not_a_member');
    expect(principalOf(credential({ kind: 'oauth_grant', userId: 'u1', memberRole: null }))).toBe('not_a_member');
    expect(principalOf(credential({ userId: 'u1', memberRole: 'owner', revokedAt: new Date() }))).toBe('revoked');
  });

  it('gives a key minted by a key with no person the lowest role and access along its chain, and its root as identity', () => {
    const chain = [minting('middle', { role: 'admin', createdByKeyId: 'root' }), minting('root', { role: 'owner', access: 'read_only' })];
    expect(principalOf(credential({ role: 'owner', createdByKeyId: 'middle', mintedBy: chain }))).toMatchObject({
      role: 'admin',
      access: 'read_only',
      userId: null,
      rootKeyId: 'root',
    });
    expect(principalOf(credential({ role: 'member' }))).toMatchObject({ role: 'member', access: 'read_write', rootKeyId: 'key' });
  });

  it('stops a key whose chain has a revoked or missing key', () => {
    const revokedRoot = [minting('middle', { createdByKeyId: 'root' }), minting('root', { revokedAt: new Date() })];
    expect(principalOf(credential({ createdByKeyId: 'middle', mintedBy: revokedRoot }))).toBe('revoked');
    expect(principalOf(credential({ createdByKeyId: 'middle', mintedBy: [minting('middle', { createdByKeyId: 'gone' })] }))).toBe('revoked');
  });

  it('narrows an OAuth grant by its token’s scope, and binds it to the grant', () => {
    const grant = credential({ id: 'g1', kind: 'oauth_grant', userId: 'u1', memberRole: 'admin', role: 'owner', client: { clientId: 'c', name: 'Claude' }, clientId: 'c-db' });
    expect(principalOf(grant, { access: 'read_only', admin: false })).toMatchObject({ kind: 'oauth', subject: 'oauth_grant:g1', role: 'admin', access: 'read_only', administration: false, client: { name: 'Claude' } });
    expect(principalOf(grant)).toMatchObject({ access: 'read_write', administration: false });
    // Administration only with the person's mcp:admin grant; an API key administers as far as its role allows.
    expect(principalOf(grant, { access: 'read_write', admin: true })).toMatchObject({ administration: true });
    expect(principalOf(credential({ userId: 'u1', memberRole: 'admin' }))).toMatchObject({ kind: 'api_key', administration: true });
  });
});
