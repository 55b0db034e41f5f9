import { z } from 'zod';

export const ROLES = ['owner', 'admin', 'member', 'contractor', 'auditor'] as const;
export type RoleName = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

export const API_KEY_ACCESS = ['read_only', 'read_write'] as const;
export type ApiKeyAccessLevel = (typeof API_KEY_ACCESS)[number];
export const apiKeyAccessSchema = z.enum(API_KEY_ACCESS);

// Roles form a partial order, not a ranking: an auditor reads the audit log, usage and approvals but calls no tools,
// a member calls tools but reads no audit log, so neither includes the other. Admins include both; owners everything.
const INCLUDED: Readonly<Record<RoleName, readonly RoleName[]>> = {
  owner: ROLES,
  admin: ['admin', 'member', 'contractor', 'auditor'],
  member: ['member', 'contractor'],
  contractor: ['contractor'],
  auditor: ['auditor'],
};

/** `role` may do everything `other` may (so may hold it, grant it, or create a key with it). */
export function roleIncludes(role: RoleName, other: RoleName): boolean {
  return INCLUDED[role].includes(other);
}

/** Owners and admins: they administer the organization. */
export function isAdministrator(role: RoleName): boolean {
  return roleIncludes(role, 'admin');
}

/**
 * The most a delegated credential holds under its creator: the highest role both include. Null when there is
 * none (an auditor's key under a person who is now a member): such a credential holds nothing, it fails closed.
 */
export function lowerRole(a: RoleName, b: RoleName): RoleName | null {
  const common = INCLUDED[a].filter((role) => roleIncludes(b, role));
  return common.find((candidate) => common.every((role) => roleIncludes(candidate, role))) ?? null;
}

/**
 * The highest of several roles when one includes all the others; otherwise the first of the incomparable highest in
 * ROLES order (member before auditor): never a role above every one of them, which nobody granted.
 */
export function highestRole(roles: readonly RoleName[]): RoleName | undefined {
  const maximal = roles.filter((role) => !roles.some((other) => other !== role && roleIncludes(other, role)));
  return ROLES.find((role) => maximal.includes(role));
}

/** The narrower of two access levels. */
export function lowerAccess(a: ApiKeyAccessLevel, b: ApiKeyAccessLevel): ApiKeyAccessLevel {
  return a === 'read_only' || b === 'read_only' ? 'read_only' : 'read_write';
}
