import { ApiKeyAccessLevel, RoleName } from '@gatehouse/config';
import type { RequestOrigin } from './audit-actor';

// Who is calling, resolved once per request from the bearer token or the dashboard's browser session.
export interface Principal {
  /**
   * api_key: a key's secret; oauth: an access token of an OAuth grant (itself listed as a key); session: a person
   * signed in to the dashboard, acting in one of their organizations (admin API only).
   */
  kind: 'api_key' | 'oauth' | 'session';
  /** Stable identity that MCP sessions are bound to. */
  subject: string;
  organizationId: string;
  organizationSlug: string;
  role: RoleName;
  access: ApiKeyAccessLevel;
  /**
   * May use Gatehouse's management tools, as far as its role allows: every API key; an OAuth client only when the
   * person granted administration (mcp:admin) on the consent page.
   */
  administration: boolean;
  /** The key, or the OAuth grant the token belongs to: what revocation and last-used apply to (null for a session). */
  apiKeyId: string | null;
  /** The person behind the credential (who created the key, or the key that minted it, or approved the OAuth grant). */
  userId: string | null;
  userEmail: string | null;
  /** With no person behind it: the key at the root of the chain that minted this one (itself, for a root key). */
  rootKeyId: string | null;
  /** The OAuth client (its database id), for oauth principals. */
  clientId: string | null;
  /** The OAuth client's public client_id and name, for policies that name clients. */
  client: { clientId: string; name: string } | null;
  name: string;
  /**
   * The endpoint the credential is bound to: an endpoint key, or an OAuth grant issued for the endpoint's URL. Null:
   * an API key usable at any door of its organization, or an OAuth grant issued for /mcp.
   */
  endpoint: { id: string; name: string } | null;
  /** Where the request carrying the credential came from: set per request by the guard, never cached. */
  origin?: RequestOrigin;
}

/** What per-credential quotas and slots count by: the key or OAuth grant, or the person of a dashboard session. */
export function credentialKey(principal: Pick<Principal, 'apiKeyId' | 'subject'>): string {
  return principal.apiKeyId ?? principal.subject;
}

/**
 * A person acting as themselves in an organization (the dashboard's session): their role there now, every access
 * their role allows.
 */
export function personPrincipal(
  organization: { id: string; slug: string },
  person: { userId: string; email: string; name: string | null; role: RoleName },
): Principal {
  return {
    kind: 'session',
    subject: `user:${person.userId}`,
    organizationId: organization.id,
    organizationSlug: organization.slug,
    role: person.role,
    access: 'read_write',
    administration: true,
    apiKeyId: null,
    userId: person.userId,
    userEmail: person.email,
    rootKeyId: null,
    clientId: null,
    client: null,
    name: person.name ?? person.email,
    endpoint: null,
  };
}
