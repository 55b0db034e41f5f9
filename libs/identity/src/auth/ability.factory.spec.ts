import { subject } from '@casl/ability';
import { platformSchema, PlatformSettings } from '@gatehouse/config';
import { AbilityFactory } from './ability.factory';
import { Principal } from './principal';

const factory = new AbilityFactory(PlatformSettings.from(platformSchema.parse({ operators: ['ops@example.com'] })));
const principal = (role: Principal['role'], access: Principal['access']): Principal => ({
  kind: 'api_key',
  subject: 's',
  organizationId: 'o',
  organizationSlug: 'o',
  role,
  access,
  administration: true,
  apiKeyId: 'k',
  userId: null,
  userEmail: null,
  rootKeyId: 'k',
  clientId: null,
  client: null,
  endpoint: null,
  name: 'k',
});

describe('AbilityFactory', () => {
  it('lets admins and owners manage connections and keys', () => {
    for (const role of ['admin', 'owner'] as const) {
      const ability = factory.forPrincipal(principal(role, 'read_write'));
      expect(ability.can('create', 'Connection')).toBe(true);
      expect(ability.can('delete', 'ApiKey')).toBe(true);
    }
  });

  it('lets auditors read the audit log, usage, budgets and approvals, and nothing else', () => {
    for (const access of ['read_write', 'read_only'] as const) {
      const ability = factory.forPrincipal(principal('auditor', access));
      for (const readable of ['Audit', 'Usage', 'Budget', 'Approval'] as const) expect(ability.can('read', readable)).toBe(true);
      for (const hidden of ['Connection', 'Member', 'Policy', 'IdentityProvider', 'ApiKey'] as const) expect(ability.can('read', hidden)).toBe(false);
      expect(ability.can('update', 'Approval')).toBe(false);
      expect(ability.can('update', 'Audit')).toBe(false);
      expect(ability.can('update', 'Budget')).toBe(false);
    }
  });

  it('lets members and contractors only read connections', () => {
    for (const role of ['member', 'contractor'] as const) {
      const ability = factory.forPrincipal(principal(role, 'read_write'));
      expect(ability.can('read', 'Connection')).toBe(true);
      expect(ability.can('create', 'Connection')).toBe(false);
      expect(ability.can('read', 'ApiKey')).toBe(false);
    }
  });

  it('makes a read-only key read-only whatever its role', () => {
    const ability = factory.forPrincipal(principal('owner', 'read_only'));
    expect(ability.can('read', 'Connection')).toBe(true);
    expect(ability.can('read', 'ApiKey')).toBe(true);
    expect(ability.can('create', 'Connection')).toBe(false);
    expect(ability.can('update', 'Connection')).toBe(false);
    expect(ability.can('delete', 'ApiKey')).toBe(false);
  });

  it('lets admins manage budgets and read usage, read-only admins only read them, and others neither', () => {
    const admin = factory.forPrincipal(principal('admin', 'read_write'));
    expect(admin.can('update', 'Budget') && admin.can('read', 'Usage')).toBe(true);
    const member = factory.forPrincipal(principal('member', 'read_write'));
    expect(member.can('read', 'Budget') || member.can('read', 'Usage')).toBe(false);
    const readOnly = factory.forPrincipal(principal('owner', 'read_only'));
    expect(readOnly.can('read', 'Budget') && readOnly.can('read', 'Usage')).toBe(true);
    expect(readOnly.can('update', 'Budget')).toBe(false);
  });

  it('lets admins manage members (up to their role: the membership service), read-only admins only list them, and others neither', () => {
    expect(factory.forPrincipal(principal('admin', 'read_write')).can('delete', 'Member')).toBe(true);
    for (const role of ['member', 'contractor'] as const) expect(factory.forPrincipal(principal(role, 'read_write')).can('read', 'Member')).toBe(false);
    const readOnly = factory.forPrincipal(principal('owner', 'read_only'));
    expect(readOnly.can('read', 'Member')).toBe(true);
    expect(readOnly.can('update', 'Member') || readOnly.can('delete', 'Member')).toBe(false);
  });

  it('lets the deployment operator read the platform, whatever their role, and nobody else', () => {
    const operator = { ...principal('contractor', 'read_only'), userId: 'u1', userEmail: 'Ops@Example.com' };
    expect(factory.forPrincipal(operator).can('read', 'Platform')).toBe(true);
    expect(factory.forPrincipal(principal('owner', 'read_write')).can('read', 'Platform')).toBe(false);
  });

  it("lets anyone with a person behind them read and revoke their own keys and grants, and nobody else's", () => {
    for (const role of ['member', 'contractor'] as const) {
      const ability = factory.forPrincipal({ ...principal(role, 'read_write'), userId: 'u1' });
      expect(ability.can('read', subject('ApiKey', { createdById: 'u1' }))).toBe(true);
      expect(ability.can('delete', subject('ApiKey', { createdById: 'u1' }))).toBe(true);
      expect(ability.can('read', subject('ApiKey', { createdById: 'u2' }))).toBe(false);
      expect(ability.can('delete', subject('ApiKey', { createdById: null }))).toBe(false);
      expect(ability.can('create', 'ApiKey')).toBe(false);
    }
    expect(factory.forPrincipal({ ...principal('member', 'read_only'), userId: 'u1' }).can('delete', subject('ApiKey', { createdById: 'u1' }))).toBe(false);
    expect(factory.forPrincipal(principal('admin', 'read_write')).can('delete', subject('ApiKey', { createdById: 'u2' }))).toBe(true);
  });
});
