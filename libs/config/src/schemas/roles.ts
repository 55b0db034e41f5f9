import { z } from 'zod';

export const ROLES = ['owner', 'admin', 'member', 'contractor'] as const;
export type RoleName = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

export const API_KEY_ACCESS = ['read_only', 'read_write'] as const;
export type ApiKeyAccessLevel = (typeof API_KEY_ACCESS)[number];
export const apiKeyAccessSchema = z.enum(API_KEY_ACCESS);

// Higher rank may do everything a lower rank may; keys can never exceed their creator.
export const ROLE_RANK: Readonly<Record<RoleName, number>> = { owner: 3, admin: 2, member: 1, contractor: 0 };

/** The lower of two roles: what a delegated credential holds under its creator. */
export function lowerRole(a: RoleName, b: RoleName): RoleName {
  return ROLE_RANK[a] <= ROLE_RANK[b] ? a : b;
}

/** The narrower of two access levels. */
export function lowerAccess(a: ApiKeyAccessLevel, b: ApiKeyAccessLevel): ApiKeyAccessLevel {
  return a === 'read_only' || b === 'read_only' ? 'read_only' : 'read_write';
}
