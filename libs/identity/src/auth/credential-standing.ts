import { ApiKeyAccessLevel, lowerAccess, lowerRole, RoleName } from '@gatehouse/config';
import type { CredentialRecord } from '@gatehouse/db';
import { Principal } from './principal';

/** Why a stored credential no longer authenticates. */
// role_withdrawn: the role the credential was made with is no longer within what stands behind it (an auditor's
// key under a person who is now a member: neither role includes the other, so it holds nothing).
// expired: past the key's expires_at (or a key above it in its chain), as an OAuth access token past its expiry.
export type CredentialFailure = 'revoked' | 'expired' | 'not_a_member' | 'role_withdrawn';

interface Standing {
  role: RoleName;
  access: ApiKeyAccessLevel;
  rootKeyId: string | null;
}

// A credential never holds more than what stands behind it, as it is now: the person's current role in the
// organization (gone when they are no longer a member), or, for a key with no person, every key above it up
// to its root. So a demotion or a revocation upstream applies at the credential's next authentication.
function standingOf(credential: CredentialRecord, now: number): Standing | CredentialFailure {
  if (credential.revokedAt) return 'revoked';
  if (expired(credential.expiresAt, now)) return 'expired';
  if (credential.userId !== null) {
    if (!credential.memberRole) return 'not_a_member';
    const role = lowerRole(credential.role, credential.memberRole);
    return role ? { role, access: credential.access, rootKeyId: null } : 'role_withdrawn';
  }
  let standing: Standing = { role: credential.role, access: credential.access, rootKeyId: credential.id };
  let parent = credential.createdByKeyId;
  for (const key of credential.mintedBy) {
    if (key.id !== parent || key.revokedAt) return 'revoked';
    if (expired(key.expiresAt, now)) return 'expired';
    const role = lowerRole(standing.role, key.role);
    if (!role) return 'role_withdrawn';
    standing = { role, access: lowerAccess(standing.access, key.access), rootKeyId: key.id };
    parent = key.createdByKeyId;
  }
  // A minting key that is gone (or a chain longer than is followed) leaves nothing to stand on.
  return parent === null ? standing : 'revoked';
}

/** What an OAuth access token's scope allows within its grant: tool access, and administration (mcp:admin). */
export interface TokenScope {
  access: ApiKeyAccessLevel;
  admin: boolean;
}

/**
 * The principal of a credential as it stands now, or why it cannot authenticate. `token`: an OAuth access token's
 * scope, which narrows its grant's access and decides whether it administers; without one, an OAuth grant
 * administers nothing.
 */
export function principalOf(credential: CredentialRecord, token?: TokenScope, now = Date.now()): Principal | CredentialFailure {
  const standing = standingOf(credential, now);
  if (typeof standing === 'string') return standing;
  const oauth = credential.kind === 'oauth_grant';
  return {
    kind: oauth ? 'oauth' : 'api_key',
    // An OAuth principal is bound to the grant, not the token: a refreshed token keeps its MCP sessions.
    subject: `${oauth ? 'oauth_grant' : 'api_key'}:${credential.id}`,
    organizationId: credential.organization.id,
    organizationSlug: credential.organization.slug,
    role: standing.role,
    access: lowerAccess(standing.access, token?.access ?? 'read_write'),
    // API keys administer as far as their role allows; an assistant only with the person's mcp:admin grant.
    administration: oauth ? (token?.admin ?? false) : true,
    apiKeyId: credential.id,
    userId: credential.userId,
    userEmail: credential.userEmail,
    rootKeyId: standing.rootKeyId,
    clientId: credential.clientId,
    client: credential.client,
    name: credential.name,
    endpoint: credential.endpoint,
  };
}

/**
 * When the principal of this credential stops standing by itself (its own or a minting key's expiry): what a cache
 * of it must not outlive. Infinity when nothing expires.
 */
export function standsUntil(credential: CredentialRecord): number {
  const expiries = [credential.expiresAt, ...credential.mintedBy.map((key) => key.expiresAt)].flatMap((at) => (at ? [at.getTime()] : []));
  return Math.min(Number.POSITIVE_INFINITY, ...expiries);
}

function expired(at: Date | null, now: number): boolean {
  return at !== null && at.getTime() <= now;
}
