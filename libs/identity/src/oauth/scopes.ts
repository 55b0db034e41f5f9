import { ApiKeyAccessLevel } from '@gatehouse/config';
import { SCOPE_ADMIN, SCOPE_READ, SCOPE_WRITE, SUPPORTED_SCOPES } from './oauth-settings';

export interface GrantedScope {
  scope: string;
  access: ApiKeyAccessLevel;
  /** Gatehouse administration through its management tools (mcp:admin), as far as the person's role allows. */
  admin: boolean;
}

function scopeOf(access: ApiKeyAccessLevel, admin: boolean): GrantedScope {
  const tools = access === 'read_write' ? `${SCOPE_READ} ${SCOPE_WRITE}` : SCOPE_READ;
  return { scope: admin ? `${tools} ${SCOPE_ADMIN}` : tools, access, admin };
}

// Scopes we do not know (openid, offline_access, a client's own) are ignored rather than refused: RFC 6749
// §3.3 lets the server grant less than asked, and the token response states what was granted. A client
// that asks for no tool scope gets both (write includes read); administration only when asked for by name.
export function grantScope(requested: string | undefined): GrantedScope {
  const known = new Set((requested ?? '').split(' ').filter((s): s is (typeof SUPPORTED_SCOPES)[number] => (SUPPORTED_SCOPES as readonly string[]).includes(s)));
  const readOnly = known.has(SCOPE_READ) && !known.has(SCOPE_WRITE);
  return scopeOf(readOnly ? 'read_only' : 'read_write', known.has(SCOPE_ADMIN));
}

/** The same scope without administration: what a person who did not grant it (or may not) gives. */
export function withoutAdmin(granted: GrantedScope): GrantedScope {
  return scopeOf(granted.access, false);
}

/** A refresh may narrow the scope (RFC 6749 §6), never widen it. */
export function narrowScope(granted: GrantedScope, requested: string | undefined): GrantedScope | null {
  if (requested === undefined) return granted;
  const asked = grantScope(requested);
  if (asked.access === 'read_write' && granted.access === 'read_only') return null;
  if (asked.admin && !granted.admin) return null;
  return asked;
}
