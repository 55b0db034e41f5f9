import { readFileSync } from 'node:fs';
import { AppConfig, DEFAULT_REDIRECT_ALLOWLIST, DeclarativeOAuth, ENDPOINT_NAME_PATTERN, StartupError } from '@gatehouse/config';

export const SCOPE_READ = 'mcp:read';
export const SCOPE_WRITE = 'mcp:write';
// Administering the organization through Gatehouse's management tools: granted only when a person ticks it on
// the consent page, so text an assistant reads in a tool result cannot administer the gateway on its own.
export const SCOPE_ADMIN = 'mcp:admin';
export const SUPPORTED_SCOPES = [SCOPE_READ, SCOPE_WRITE, SCOPE_ADMIN] as const;
/** What a 401 challenge tells clients to ask for: using tools. Administration is asked for on purpose, never by default. */
export const CHALLENGE_SCOPES = [SCOPE_READ, SCOPE_WRITE] as const;

/** How client ID metadata documents (CIMD) are fetched. */
export interface ClientMetadataDocumentSettings {
  /** PEM CA certificates trusted besides the public roots (oauth.clientMetadataDocuments.extraCaFile). */
  readonly extraCa?: string;
}

// The deployment's OAuth settings, fixed at boot from the environment and the config file.
export class OAuthSettings {
  private constructor(
    /** RFC 8414 issuer: the public origin, no path, no trailing slash. */
    readonly issuer: string,
    /** The protected resource (RFC 8707/9728) /mcp; each endpoint's URL below it is one too (`resourceFor`). */
    readonly resource: string,
    readonly redirectUriAllowlist: readonly string[],
    readonly accessTokenTtlSeconds: number,
    readonly refreshTokenTtlSeconds: number,
    readonly secureCookies: boolean,
    readonly clientMetadataDocuments: ClientMetadataDocumentSettings,
  ) {}

  static from(config: AppConfig, oauth: DeclarativeOAuth = {}): OAuthSettings {
    return new OAuthSettings(
      config.env.PUBLIC_URL,
      config.mcpUrl,
      oauth.redirectUriAllowlist ?? DEFAULT_REDIRECT_ALLOWLIST,
      oauth.accessTokenTtl ?? 3600,
      oauth.refreshTokenTtl ?? 30 * 86_400,
      config.env.PUBLIC_URL.startsWith('https://'),
      {
        ...(oauth.clientMetadataDocuments?.extraCaFile ? { extraCa: readCaFile(oauth.clientMetadataDocuments.extraCaFile) } : {}),
      },
    );
  }

  readonly authorizationCodeTtlSeconds = 120;

  get protectedResourceMetadataUrl(): string {
    return this.protectedResourceMetadataUrlFor(null);
  }

  /** RFC 9728 §3.1: the metadata of /mcp or /mcp/<endpoint>, at the resource's path under the well-known prefix. */
  protectedResourceMetadataUrlFor(endpoint: string | null): string {
    return `${this.issuer}/.well-known/oauth-protected-resource/mcp${endpoint === null ? '' : `/${endpoint}`}`;
  }

  /** The resource identifier of /mcp (null) or of an endpoint. */
  resourceFor(endpoint: string | null): string {
    return endpoint === null ? this.resource : `${this.resource}/${endpoint}`;
  }

  /**
   * The MCP door a resource identifier names: null for /mcp, an endpoint's name, or undefined when it names no
   * resource of this server. Which organization's endpoint is decided by the organization the person chooses.
   */
  endpointOfResource(resource: string): string | null | undefined {
    if (resource === this.resource) return null;
    const prefix = `${this.resource}/`;
    if (!resource.startsWith(prefix)) return undefined;
    const name = resource.slice(prefix.length);
    return ENDPOINT_NAME_PATTERN.test(name) ? name : undefined;
  }

  endpoint(path: 'authorize' | 'token' | 'register' | 'revoke'): string {
    return `${this.issuer}/oauth/${path}`;
  }
}

// Read once at boot, so a missing or wrong file stops the gateway instead of failing every fetch later.
function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new StartupError(`oauth.clientMetadataDocuments.extraCaFile: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new StartupError(`oauth.clientMetadataDocuments.extraCaFile: ${file} holds no PEM certificate`);
  }
  return pem;
}
