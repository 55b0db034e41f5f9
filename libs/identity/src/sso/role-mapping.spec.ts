import { emailDomain, emailDomainAllowed, roleFromGroups } from './role-mapping';

describe('identity provider mapping', () => {
  const roleMap = { 'gatehouse-admins': 'admin', contractors: 'contractor' } as const;

  it('maps groups to the highest mapped role, else the default', () => {
    expect(roleFromGroups(['staff', 'gatehouse-admins', 'contractors'], roleMap, 'member')).toBe('admin');
    expect(roleFromGroups(['contractors'], roleMap, 'member')).toBe('contractor');
    expect(roleFromGroups('contractors', roleMap, 'member')).toBe('contractor');
    expect(roleFromGroups(['staff'], roleMap, 'member')).toBe('member');
    expect(roleFromGroups(undefined, roleMap, 'member')).toBe('member');
  });

  it('never makes an auditor who is also a contractor an admin: the first of incomparable roles wins', () => {
    const withAuditors = { ...roleMap, 'security-audit': 'auditor' } as const;
    expect(roleFromGroups(['security-audit'], withAuditors, 'member')).toBe('auditor');
    expect(roleFromGroups(['security-audit', 'contractors'], withAuditors, 'member')).toBe('contractor');
  });

  it('allows only the listed email domains, not their subdomains or look-alikes', () => {
    expect(emailDomainAllowed('Alice@ACME.test', ['acme.test'])).toBe(true);
    expect(emailDomainAllowed('eve@evil-acme.test', ['acme.test'])).toBe(false);
    expect(emailDomainAllowed('eve@mail.acme.test', ['acme.test'])).toBe(false);
    expect(emailDomainAllowed('acme.test', ['acme.test'])).toBe(false);
    expect(emailDomainAllowed('alice@', [''])).toBe(false);
  });

  it('reads an email\'s domain after its last @, lower-cased', () => {
    expect(emailDomain('Alice@ACME.test')).toBe('acme.test');
    expect(emailDomain('"a@b"@acme.test')).toBe('acme.test');
    expect(emailDomain('@acme.test')).toBeNull();
    expect(emailDomain('alice@')).toBeNull();
    expect(emailDomain('alice')).toBeNull();
  });
});
