import { ApiKeyAccessLevel, RoleName } from '@gatehouse/config';

// Who is calling, resolved once per request from the bearer token.
export interface Principal {
  kind: 'api_key';
  /** Stable identity that MCP sessions are bound to. */
  subject: string;
  organizationId: string;
  organizationSlug: string;
  role: RoleName;
  access: ApiKeyAccessLevel;
  apiKeyId: string;
  userId: string | null;
  name: string;
}
