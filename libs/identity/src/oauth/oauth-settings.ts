import { AppConfig, DEFAULT_REDIRECT_ALLOWLIST, DeclarativeOAuth } from '@gatehouse/config';

export const SCOPE_READ = 'mcp:read';
export const SCOPE_WRITE = 'mcp:write';
export const SUPPORTED_SCOPES = [SCOPE_READ, SCOPE_WRITE] as const;

// The deployment's OAuth settings, fixed at boot from the environment and the config file.
export class OAuthSettings {
  private constructor(
    /** RFC 8414 issuer: the public origin, no path, no trailing slash. */
    readonly issuer: string,
    /** The one protected resource (RFC 8707/9728): the MCP endpoint. */
    readonly resource: string,
    readonly redirectUriAllowlist: readonly string[],
    readonly accessTokenTtlSeconds: number,
    readonly refreshTokenTtlSeconds: number,
    readonly secureCookies: boolean,
  ) {}

  static from(config: AppConfig, oauth: DeclarativeOAuth = {}): OAuthSettings {
    return new OAuthSettings(
      config.env.PUBLIC_URL,
      config.mcpUrl,
      oauth.redirectUriAllowlist ?? DEFAULT_REDIRECT_ALLOWLIST,
      oauth.accessTokenTtl ?? 3600,
      oauth.refreshTokenTtl ?? 30 * 86_400,
      config.env.PUBLIC_URL.startsWith('https://'),
    );
  }

  readonly authorizationCodeTtlSeconds = 120;

  get protectedResourceMetadataUrl(): string {
    return `${this.issuer}/.well-known/oauth-protected-resource/mcp`;
  }

  endpoint(path: 'authorize' | 'token' | 'register' | 'revoke'): string {
    return `${this.issuer}/oauth/${path}`;
  }
}
