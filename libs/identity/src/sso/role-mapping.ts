import { ROLE_RANK, RoleName } from '@gatehouse/config';

/** The highest role any of the person's groups maps to, else the provider's default. */
export function roleFromGroups(groups: unknown, roleMap: Record<string, RoleName>, defaultRole: RoleName): RoleName {
  const names = Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : typeof groups === 'string' ? [groups] : [];
  const mapped = names.map((group) => roleMap[group]).filter((role): role is RoleName => role !== undefined);
  if (mapped.length === 0) return defaultRole;
  return mapped.reduce((best, role) => (ROLE_RANK[role] > ROLE_RANK[best] ? role : best));
}

/** The email's domain is one of the allowed ones (exactly; subdomains are other domains). */
export function emailDomainAllowed(email: string, allowedDomains: readonly string[]): boolean {
  const at = email.lastIndexOf('@');
  return at > 0 && allowedDomains.includes(email.slice(at + 1).toLowerCase());
}
