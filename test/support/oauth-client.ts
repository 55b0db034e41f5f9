// The OAuth side of ChatGPT or Claude: the SDK client's own OAuth 2.1 + PKCE machinery (discovery, dynamic
// registration or a client ID metadata document, authorization, token exchange and refresh), with the user's
// browser played by TestBrowser and the credentials kept in memory so tests can inspect and tamper with them.
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { deliverInArrivalOrder } from '@gatehouse/connections';
import type { BrowserPage, Redirected, TestBrowser } from './browser';

export type CredentialScope = 'all' | 'client' | 'tokens' | 'verifier' | 'discovery';

export interface TestOAuthProviderOptions {
  redirectUrl: string;
  clientName: string;
  /** The scope to ask for when the gateway's metadata does not name any. */
  scope?: string;
  /** An HTTPS client ID metadata document URL, used instead of registration when the gateway supports it. */
  clientMetadataUrl?: string;
  /** How the registered client authenticates at the token endpoint; public clients ('none') by default. */
  tokenEndpointAuthMethod?: string;
}

export class TestOAuthProvider implements OAuthClientProvider {
  readonly clientMetadataUrl?: string;
  /** Every scope the SDK asked to invalidate, in order (it does so on invalid_client and invalid_grant). */
  readonly invalidations: CredentialScope[] = [];
  /** Every authorization URL the SDK sent the user to, in order. */
  readonly authorizationUrls: URL[] = [];
  private readonly options: TestOAuthProviderOptions;
  private savedClientInformation?: OAuthClientInformationMixed;
  private savedTokens?: OAuthTokens;
  private savedCodeVerifier?: string;
  private latestState?: string;

  constructor(options: TestOAuthProviderOptions) {
    this.options = options;
    if (options.clientMetadataUrl !== undefined) this.clientMetadataUrl = options.clientMetadataUrl;
  }

  get redirectUrl(): string {
    return this.options.redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.options.clientName,
      redirect_uris: [this.options.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.options.tokenEndpointAuthMethod ?? 'none',
      ...(this.options.scope !== undefined ? { scope: this.options.scope } : {}),
    };
  }

  get lastAuthorizationUrl(): URL | undefined {
    return this.authorizationUrls.at(-1);
  }

  get lastState(): string | undefined {
    return this.latestState;
  }

  state(): string {
    this.latestState = randomBytes(16).toString('base64url');
    return this.latestState;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.savedClientInformation;
  }

  // Stored unchanged: the SDK binds client information and tokens to their issuer through the `issuer` it adds.
  saveClientInformation(clientInformation: OAuthClientInformationMixed): void {
    this.savedClientInformation = clientInformation;
  }

  tokens(): OAuthTokens | undefined {
    return this.savedTokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.savedTokens = tokens;
  }

  /** Replaces (or with undefined, forgets) the stored tokens, e.g. to present a revoked or forged one. */
  setTokens(tokens: OAuthTokens | undefined): void {
    this.savedTokens = tokens;
  }

  /** Replaces (or forgets) the stored client registration. */
  setClientInformation(clientInformation: OAuthClientInformationMixed | undefined): void {
    this.savedClientInformation = clientInformation;
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.authorizationUrls.push(authorizationUrl);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.savedCodeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (this.savedCodeVerifier === undefined) throw new Error('No PKCE code verifier saved: the authorization flow was not started');
    return this.savedCodeVerifier;
  }

  // No discovery cache is kept (every auth() rediscovers), so 'discovery' has nothing to clear.
  invalidateCredentials(scope: CredentialScope): void {
    this.invalidations.push(scope);
    if (scope === 'all' || scope === 'client') this.savedClientInformation = undefined;
    if (scope === 'all' || scope === 'tokens') this.savedTokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.savedCodeVerifier = undefined;
  }
}

export interface OAuthConnection {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** The redirect_uri the gateway sent the browser back to, with code and state. */
  callback: URL;
}

/**
 * Connects to the gateway the way ChatGPT does: the first connect is answered 401, the SDK discovers the
 * authorization server, registers and sends the user to authorize; `signIn` clicks through the gateway's pages;
 * the code from the callback is exchanged for tokens, and a second connection goes through with them.
 */
export async function connectWithOAuth(options: {
  mcpUrl: string;
  browser: TestBrowser;
  provider: TestOAuthProvider;
  signIn: (page: BrowserPage) => Promise<BrowserPage | Redirected>;
}): Promise<OAuthConnection> {
  const { mcpUrl, browser, provider, signIn } = options;
  const redirectsBefore = provider.authorizationUrls.length;
  const unauthorized = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const first = new Client({ name: 'oauth-e2e', version: '1.0.0' });
  try {
    await first.connect(unauthorized);
    await first.close();
    throw new Error(`${mcpUrl} accepted the connection without sending the client to authorize`);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  const authorizationUrl = provider.lastAuthorizationUrl;
  if (!authorizationUrl || provider.authorizationUrls.length === redirectsBefore) {
    throw new Error('The SDK answered Unauthorized without asking to redirect the user to authorize');
  }

  const opened = await browser.open(authorizationUrl);
  // A user already signed in who approved this client before goes straight back to it.
  const ended = opened.kind === 'page' ? await signIn(opened) : opened;
  if (ended.kind === 'page') {
    throw new Error(`The authorization flow ended on a page instead of returning to ${provider.redirectUrl}: ${ended.describe()}`);
  }
  const callback = ended.url;
  const expected = new URL(provider.redirectUrl);
  if (callback.origin !== expected.origin || callback.pathname !== expected.pathname) {
    throw new Error(`The authorization flow redirected to ${callback.href}, not to the redirect_uri ${provider.redirectUrl}`);
  }
  const error = callback.searchParams.get('error');
  if (error) {
    const description = callback.searchParams.get('error_description');
    throw new Error(`The gateway returned ${error}${description ? `: ${description}` : ''} to ${callback.href}`);
  }
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`The callback ${callback.href} carries no code`);
  if (callback.searchParams.get('state') !== provider.lastState) {
    throw new Error(`The callback's state ${callback.searchParams.get('state')} is not the one sent, ${provider.lastState}`);
  }

  // finishAuth on the transport that met the 401: it holds the resource_metadata and scope of that challenge.
  await unauthorized.finishAuth(code);

  // A transport cannot be started twice (start() throws once it has an AbortController, which close() keeps),
  // so the authorized connection is a new transport and client sharing the provider and its tokens.
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const client = new Client({ name: 'oauth-e2e', version: '1.0.0' });
  await client.connect(transport);
  // The SDK client can drop the last progress notification before a result (see deliverInArrivalOrder).
  deliverInArrivalOrder(transport);
  return { client, transport, callback };
}
