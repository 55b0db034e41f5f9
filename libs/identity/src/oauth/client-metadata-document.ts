// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25 authorization):
// a client whose client_id is an https URL publishes its metadata at that URL, and Gatehouse fetches it instead of
// a registration. The URL is chosen by whoever starts an authorization request, so the fetch is a server-side
// request forgery risk: it obeys the deployment's egress policy (public addresses unless the operator allowed
// more), resolved once and then pinned (no DNS rebinding), follows no redirect, and reads a few kilobytes of JSON
// for at most a few seconds.
import type { LookupAddress } from 'node:dns';
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { z } from 'zod';
import { matchesRedirectAllowlist, redirectUriProblem } from '@gatehouse/config';
import { EgressPolicy, EgressRefusal, EgressResolutionError } from '@gatehouse/egress';
import { OAuthError } from './oauth.errors';
import type { ClientMetadataDocumentSettings } from './oauth-settings';

const FETCH_TIMEOUT_MS = 5_000;
// The draft suggests 5 KB; documents with several redirect URIs, a logo and a policy URL can run past that.
export const MAX_DOCUMENT_BYTES = 16 * 1024;
// How long a fetched document is used before it is fetched again: its Cache-Control max-age, within bounds.
export const DOCUMENT_CACHE_SECONDS = { min: 5 * 60, default: 60 * 60, max: 24 * 60 * 60 } as const;

/** A document that passed every check, ready to be stored as the client. */
export interface ClientMetadataDocument {
  clientId: string;
  name: string;
  redirectUris: string[];
  /** The document as received. */
  document: Record<string, unknown>;
  cacheSeconds: number;
}

/** Whether a client_id names a metadata document; registered clients' ids are random base64url, never URLs. */
export function isClientIdUrl(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

/** Why a client_id URL is not a valid client identifier URL (draft §3), or null. */
export function clientIdUrlProblem(clientId: string): string | null {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:') return 'must use https';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.hash || clientId.includes('#')) return 'must not contain a fragment';
  // The parser has already resolved "." and ".." segments, so they are looked for in the text as given.
  const path = clientId.replace(/^https:\/\/[^/?]*/i, '').split('?')[0]!;
  if (path === '' || path === '/') return 'must have a path, such as https://client.example/oauth/metadata.json';
  if (path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) return 'must not contain "." or ".." path segments';
  return null;
}

const documentSchema = z.looseObject({
  redirect_uris: z.array(z.string()).min(1, 'must list at least one redirect URI'),
  client_name: z.string().trim().min(1).max(200).optional(),
  grant_types: z
    .array(z.string())
    .refine((types) => types.includes('authorization_code'), 'must include authorization_code')
    .optional(),
  response_types: z
    .array(z.string())
    .refine((types) => types.includes('code'), 'must include code')
    .optional(),
});

/** Checks a fetched document (draft §4 and §8) against its URL and this deployment's redirect URI allowlist. */
export function validateClientMetadataDocument(
  clientId: string,
  body: unknown,
  redirectUriAllowlist: readonly string[],
): Omit<ClientMetadataDocument, 'cacheSeconds'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw refusal(clientId, 'the document is not a JSON object');
  const document = body as Record<string, unknown>;
  // Simple string comparison, no normalization (draft §4.1): anything else would let one URL speak for another.
  if (document['client_id'] !== clientId) {
    throw refusal(clientId, `the document's client_id ${JSON.stringify(document['client_id'] ?? null)} is not the URL it was fetched from`);
  }
  for (const secret of ['client_secret', 'client_secret_expires_at']) {
    if (secret in document) throw refusal(clientId, `the document must not contain ${secret}: a published document cannot hold a shared secret`);
  }
  // Absent means none here, not RFC 7591's client_secret_basic: a document's client has no secret to send.
  const method = document['token_endpoint_auth_method'] ?? 'none';
  if (method === 'private_key_jwt') {
    throw refusal(clientId, 'token_endpoint_auth_method private_key_jwt is not supported by this Gatehouse; the document must use none (a public client with PKCE)');
  }
  if (method !== 'none') {
    throw refusal(clientId, `token_endpoint_auth_method ${JSON.stringify(method)} cannot be used with a metadata document; it must be none`);
  }
  const parsed = documentSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw refusal(clientId, `${issue.path.join('.') || 'the document'}: ${issue.message}`);
  }
  for (const uri of parsed.data.redirect_uris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw refusal(clientId, `redirect URI ${uri} ${problem}`);
    if (!matchesRedirectAllowlist(uri, redirectUriAllowlist)) {
      throw refusal(clientId, `redirect URI ${uri} is not allowed by this Gatehouse's redirect URI allowlist; an administrator can add it (oauth.redirectUriAllowlist)`);
    }
  }
  return {
    clientId,
    name: parsed.data.client_name ?? new URL(clientId).host,
    redirectUris: parsed.data.redirect_uris,
    document,
  };
}

/** Seconds to keep a document, from its Cache-Control header, within DOCUMENT_CACHE_SECONDS. */
export function documentCacheSeconds(cacheControl: string | undefined): number {
  const { min, max } = DOCUMENT_CACHE_SECONDS;
  if (!cacheControl) return DOCUMENT_CACHE_SECONDS.default;
  if (/(^|,)\s*(no-store|no-cache)\s*(,|=|$)/i.test(cacheControl)) return min;
  const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/i.exec(cacheControl)?.[1];
  return maxAge === undefined ? DOCUMENT_CACHE_SECONDS.default : Math.min(max, Math.max(min, Number(maxAge)));
}

export class ClientMetadataDocumentFetcher {
  private readonly ca: string[] | undefined;

  constructor(
    settings: ClientMetadataDocumentSettings,
    private readonly redirectUriAllowlist: readonly string[],
    private readonly egress: EgressPolicy,
  ) {
    // Setting `ca` replaces the default trust store, so the public roots are passed along with the extra CA.
    this.ca = settings.extraCa ? [...rootCertificates, settings.extraCa] : undefined;
  }

  /** Fetches and checks the document at `clientId`; every refusal is an invalid_client OAuthError saying why. */
  async fetch(clientId: string): Promise<ClientMetadataDocument> {
    const problem = clientIdUrlProblem(clientId);
    if (problem) throw refusal(clientId, `a client_id URL ${problem}`);
    const url = new URL(clientId);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
    const timedOut = () => refusal(clientId, `the document could not be fetched within ${FETCH_TIMEOUT_MS / 1000} seconds`);

    const vetting = this.egress.resolve(host).catch((error: unknown) => {
      if (error instanceof EgressRefusal) throw refusal(clientId, `its host ${error.message}`);
      if (error instanceof EgressResolutionError) throw refusal(clientId, `its host ${error.message}`);
      throw error;
    });
    const addresses = await Promise.race([
      vetting,
      new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(timedOut()), { once: true })),
    ]);
    const response = await this.get(clientId, url, host, addresses[0]!, signal).catch((error: unknown) => {
      if (error instanceof OAuthError) throw error;
      if (signal.aborted) throw timedOut();
      throw refusal(clientId, `the document could not be fetched (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    });
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      throw refusal(clientId, 'the document is not valid JSON');
    }
    return { ...validateClientMetadataDocument(clientId, body, this.redirectUriAllowlist), cacheSeconds: documentCacheSeconds(response.cacheControl) };
  }

  private get(clientId: string, url: URL, host: string, pinned: LookupAddress, signal: AbortSignal): Promise<{ text: string; cacheControl: string | undefined }> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          hostname: host,
          port: url.port || 443,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers: { accept: 'application/json', 'user-agent': 'Gatehouse (OAuth client metadata document fetch)' },
          // The connection goes to the address that was vetted: no second DNS answer is ever asked for.
          lookup: (_hostname, options, callback) => (options.all ? callback(null, [pinned]) : callback(null, pinned.address, pinned.family)),
          // TLS still verifies the certificate against the host name (SNI is not sent for an IP address).
          ...(isIP(host) ? {} : { servername: host }),
          ...(this.ca ? { ca: this.ca } : {}),
          agent: false,
          signal,
        },
        (response) => {
          const problem = responseProblem(response);
          if (problem) {
            response.destroy();
            reject(refusal(clientId, problem));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_DOCUMENT_BYTES) {
              response.destroy();
              reject(refusal(clientId, `the document is larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), cacheControl: response.headers['cache-control'] }));
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
  }
}

function responseProblem(response: IncomingMessage): string | null {
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400) {
    return `fetching the document was answered with a redirect (HTTP ${status}); redirects are not followed, the document must be served at its client_id URL`;
  }
  if (status !== 200) return `fetching the document was answered with HTTP ${status}`;
  const type = response.headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) return `the document is served as ${type || 'no content type'}, not application/json`;
  if (Number(response.headers['content-length'] ?? 0) > MAX_DOCUMENT_BYTES) return `the document is larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`;
  return null;
}

function refusal(clientId: string, reason: string): OAuthError {
  return new OAuthError('invalid_client', `The client metadata document ${clientId} was refused: ${reason}`);
}
