import { highestRole, isAdministrator, lowerRole, ROLES, roleIncludes } from './roles';

describe('roles', () => {
  it('orders owner above admin, admin above member and auditor, member above contractor', () => {
    expect(roleIncludes('owner', 'auditor')).toBe(true);
    expect(roleIncludes('admin', 'auditor')).toBe(true);
    expect(roleIncludes('admin', 'contractor')).toBe(true);
    expect(roleIncludes('member', 'contractor')).toBe(true);
    expect(roleIncludes('admin', 'owner')).toBe(false);
    for (const role of ROLES) expect(roleIncludes(role, role)).toBe(true);
  });

  it('keeps auditors and members apart: neither includes the other, nor the contractor the auditor', () => {
    expect(roleIncludes('auditor', 'member')).toBe(false);
    expect(roleIncludes('auditor', 'contractor')).toBe(false);
    expect(roleIncludes('member', 'auditor')).toBe(false);
    expect(roleIncludes('contractor', 'auditor')).toBe(false);
    expect(isAdministrator('auditor')).toBe(false);
    expect([...ROLES].filter(isAdministrator)).toEqual(['owner', 'admin']);
  });

  it('gives a delegated credential the highest role both include, and nothing when there is none', () => {
    expect(lowerRole('owner', 'admin')).toBe('admin');
    expect(lowerRole('admin', 'auditor')).toBe('auditor');
    expect(lowerRole('member', 'contractor')).toBe('contractor');
    expect(lowerRole('auditor', 'member')).toBeNull();
    expect(lowerRole('contractor', 'auditor')).toBeNull();
  });

  it('takes the highest of several roles without inventing one above them', () => {
    expect(highestRole(['contractor', 'admin', 'auditor'])).toBe('admin');
    expect(highestRole(['auditor'])).toBe('auditor');
    // Incomparable: the first in ROLES order, never admin (which includes both but nobody granted).
    expect(highestRole(['auditor', 'member'])).toBe('member');
    expect(highestRole(['auditor', 'contractor'])).toBe('contractor');
    expect(highestRole([])).toBeUndefined();
  });
});
