import { highestRole, RoleName } from '@gatehouse/config';

/** The highest role any of the person's groups maps to, else the provider's default. */
export function roleFromGroups(groups: unknown, roleMap: Record<string, RoleName>, defaultRole: RoleName): RoleName {
  const names = Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : typeof groups === 'string' ? [groups] : [];
  const mapped = names.map((group) => roleMap[group]).filter((role): role is RoleName => role !== undefined);
  return highestRole(mapped) ?? defaultRole;
}

/** The domain of an email address, lower-cased; null when it has no local part or no domain. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 ? email.slice(at + 1).toLowerCase() : null;
}

/** The email's domain is one of the allowed ones (exactly; subdomains are other domains). */
export function emailDomainAllowed(email: string, allowedDomains: readonly string[]): boolean {
  const domain = emailDomain(email);
  return domain !== null && allowedDomains.includes(domain);
}
