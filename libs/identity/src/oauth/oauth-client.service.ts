import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { matchesRedirectAllowlist, redirectUriProblem } from '@gatehouse/config';
import { OAuthClientRecord, OAuthClientRepository } from '@gatehouse/db';
import { EgressPolicy } from '@gatehouse/egress';
import { ClientMetadataDocumentFetcher, DOCUMENT_CACHE_SECONDS, isClientIdUrl } from './client-metadata-document';
import { hashCredential } from '../auth/credential-hash';
import { OAuthError } from './oauth.errors';
import { OAuthSettings } from './oauth-settings';

export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

// Registration is unauthenticated, and what it stores is shown to people (the consent page) and kept in the
// audit log: every field is bounded, text holds no control characters (nor the bidirectional overrides that make one
// name read as another), and only these fields are kept. Unknown ones are ignored (RFC 7591 §2: "MUST ignore").
const MAX_REDIRECT_URIS = 20;
const MAX_URI_CHARS = 2000;
const UNPRINTABLE = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !UNPRINTABLE.test(value), 'must not contain control characters');
const webUrl = z.string().max(MAX_URI_CHARS).pipe(z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }));
// RFC 6749 §3.3: scope tokens are printable ASCII without space, '"' or '\', separated by single spaces.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

const registrationSchema = z.object({
  redirect_uris: z
    .array(text(MAX_URI_CHARS))
    .min(1, 'redirect_uris must list at least one URI')
    .max(MAX_REDIRECT_URIS, `redirect_uris may list at most ${MAX_REDIRECT_URIS} URIs`),
  token_endpoint_auth_method: z.enum(TOKEN_ENDPOINT_AUTH_METHODS).default('client_secret_basic'),
  grant_types: z
    .array(z.enum(['authorization_code', 'refresh_token']))
    .max(2)
    .default(['authorization_code'])
    .refine((types) => types.includes('authorization_code'), 'grant_types must include authorization_code'),
  response_types: z.array(z.literal('code')).max(1).default(['code']),
  client_name: text(200).trim().min(1).optional(),
  client_uri: webUrl.optional(),
  logo_uri: webUrl.optional(),
  scope: z.string().max(1000).regex(SCOPE, 'must be scope tokens separated by single spaces').optional(),
  software_id: text(200).optional(),
  software_version: text(100).optional(),
});

export interface ClientCredentials {
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** How the credentials came: HTTP Basic, or form fields. */
  via: 'basic' | 'post' | 'none';
}


// A metadata-document client's row keeps, beside the document, how long the document may be used.
const CACHE_SECONDS_KEY = 'gatehouse_cache_seconds';
// A document that can no longer be fetched is used this long after its last successful fetch.
const STALE_DOCUMENT_LIMIT_MS = 24 * 60 * 60 * 1000;

@Injectable()
export class OAuthClientService {
  private readonly logger = new Logger(OAuthClientService.name);
  private readonly documents: ClientMetadataDocumentFetcher;

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly settings: OAuthSettings,
    egress: EgressPolicy,
  ) {
    this.documents = new ClientMetadataDocumentFetcher(settings.clientMetadataDocuments, settings.redirectUriAllowlist, egress);
  }

  /** RFC 7591 dynamic registration; the response is what the client must keep. */
  async register(body: unknown): Promise<Record<string, unknown>> {
    const parsed = registrationSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = issue.path.join('.');
      throw new OAuthError(path.startsWith('redirect_uris') ? 'invalid_redirect_uri' : 'invalid_client_metadata', `${path || 'body'}: ${issue.message}`);
    }
    const metadata = parsed.data;
    for (const uri of metadata.redirect_uris) this.checkRedirectUri(uri);

    const clientId = randomBytes(16).toString('base64url');
    const secret = metadata.token_endpoint_auth_method === 'none' ? null : `ghs_${randomBytes(32).toString('base64url')}`;
    const client = await this.clients.create({
      clientId,
      kind: 'registered',
      name: metadata.client_name ?? 'MCP client',
      redirectUris: metadata.redirect_uris,
      tokenEndpointAuthMethod: metadata.token_endpoint_auth_method,
      secretHash: secret && hashCredential(secret),
      metadata,
    });
    return {
      ...metadata,
      client_id: client.clientId,
      client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
      ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
    };
  }

  /**
   * The client an authorization request names, or null when there is none by that id. A URL names a client ID
   * metadata document: fetched when its stored copy is stale, and refused with invalid_client saying why.
   */
  find(clientId: string): Promise<OAuthClientRecord | null> {
    return isClientIdUrl(clientId) ? this.documentClient(clientId) : this.clients.findByClientId(clientId);
  }

  /** RFC 6749 §2.3: the client calling the token or revocation endpoint. */
  async authenticate(credentials: ClientCredentials): Promise<OAuthClientRecord> {
    if (!credentials.clientId) throw new OAuthError('invalid_client', 'client_id is required (in the form, or with HTTP Basic authentication)');
    const client = await this.find(credentials.clientId);
    if (!client) throw new OAuthError('invalid_client', 'Unknown client_id');
    if (client.tokenEndpointAuthMethod === 'none') return client;
    if (!credentials.clientSecret || !client.secretHash) {
      throw new OAuthError('invalid_client', `This client authenticates with ${client.tokenEndpointAuthMethod}; client_secret is missing`);
    }
    const presented = Buffer.from(hashCredential(credentials.clientSecret), 'hex');
    const expected = Buffer.from(client.secretHash, 'hex');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw new OAuthError('invalid_client', 'Client authentication failed');
    }
    return client;
  }

  // One row per document URL, refreshed in place so that its grants and codes keep pointing at it.
  private async documentClient(url: string): Promise<OAuthClientRecord> {
    const stored = await this.clients.findByClientId(url);
    const age = stored ? Date.now() - stored.updatedAt.getTime() : Infinity;
    const cacheSeconds = Number(stored?.metadata[CACHE_SECONDS_KEY]) || DOCUMENT_CACHE_SECONDS.default;
    if (stored && age < cacheSeconds * 1000) return stored;
    try {
      const fetched = await this.documents.fetch(url);
      return await this.clients.upsertDocumentClient({
        clientId: url,
        kind: 'metadata_document',
        name: fetched.name,
        redirectUris: fetched.redirectUris,
        tokenEndpointAuthMethod: 'none',
        secretHash: null,
        metadata: { ...fetched.document, [CACHE_SECONDS_KEY]: fetched.cacheSeconds },
      });
    } catch (error) {
      if (!(error instanceof OAuthError) || !stored || age >= STALE_DOCUMENT_LIMIT_MS) throw error;
      this.logger.warn(`Using the copy of ${url} fetched ${Math.round(age / 60_000)} minutes ago: ${error.description}`);
      return stored;
    }
  }

  private checkRedirectUri(uri: string): void {
    const problem = redirectUriProblem(uri);
    if (problem) throw new OAuthError('invalid_redirect_uri', `${uri} ${problem}`);
    if (!matchesRedirectAllowlist(uri, this.settings.redirectUriAllowlist)) {
      throw new OAuthError('invalid_redirect_uri', `${uri} is not allowed by this Gatehouse's redirect URI allowlist; an administrator can add it (oauth.redirectUriAllowlist)`);
    }
  }
}
