import { ApiKeyAccessLevel } from '@gatehouse/config';
import { SCOPE_READ, SCOPE_WRITE, SUPPORTED_SCOPES } from './oauth-settings';

export interface GrantedScope {
  scope: string;
  access: ApiKeyAccessLevel;
}

const DEFAULT_SCOPE: GrantedScope = { scope: `${SCOPE_READ} ${SCOPE_WRITE}`, access: 'read_write' };

// Scopes we do not know (openid, offline_access, a client's own) are ignored rather than refused: RFC 6749
// §3.3 lets the server grant less than asked, and the token response states what was granted. A client
// that asks for nothing we know gets the default.
export function grantScope(requested: string | undefined): GrantedScope {
  const known = new Set((requested ?? '').split(' ').filter((s): s is (typeof SUPPORTED_SCOPES)[number] => (SUPPORTED_SCOPES as readonly string[]).includes(s)));
  if (known.size === 0) return DEFAULT_SCOPE;
  if (known.has(SCOPE_WRITE)) return DEFAULT_SCOPE; // write includes read
  return { scope: SCOPE_READ, access: 'read_only' };
}

/** A refresh may narrow the scope (RFC 6749 §6), never widen it. */
export function narrowScope(granted: GrantedScope, requested: string | undefined): GrantedScope | null {
  if (requested === undefined) return granted;
  const asked = grantScope(requested);
  if (asked.access === 'read_write' && granted.access === 'read_only') return null;
  return asked;
}
