// The OAuth flow by hand, as a client that does not use the SDK would run it: for the cases the SDK client
// never produces (wrong verifiers, replays, tampering) and for stepping through sign-in pages one by one.
import { createHash, randomBytes } from 'node:crypto';
import { apiRequest } from './admin-api';
import { BrowserPage, Redirected, TestBrowser } from './browser';

export const CALLBACK = 'http://127.0.0.1:6274/oauth/callback';

export interface StartedFlow {
  clientId: string;
  verifier: string;
  browser: TestBrowser;
  /** Where the authorization request led: the sign-in page, or straight back to the client. */
  landed: BrowserPage | Redirected;
}

export interface TokenReply {
  status: number;
  cacheControl: string | null;
  body: Record<string, string>;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export class OAuthFlow {
  constructor(
    private readonly baseUrl: string,
    private readonly mcpUrl: string,
  ) {}

  register(redirectUris: string[] = [CALLBACK], extra: Record<string, unknown> = {}) {
    return apiRequest<Record<string, unknown>>(this.baseUrl, null, 'POST', '/oauth/register', {
      client_name: 'Hand-rolled client',
      redirect_uris: redirectUris,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      ...extra,
    });
  }

  async registeredClientId(): Promise<string> {
    return String((await this.register()).body['client_id']);
  }

  authorizeUrl(params: Record<string, string | undefined>): URL {
    const url = new URL('/oauth/authorize', this.baseUrl);
    for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
    return url;
  }

  /** Registers a client and sends a fresh browser to a valid authorization request (params may be overridden). */
  async start(overrides: Record<string, string | undefined> = {}, browser = new TestBrowser(this.baseUrl)): Promise<StartedFlow> {
    const clientId = await this.registeredClientId();
    const { verifier, challenge } = pkcePair();
    const landed = await browser.open(
      this.authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', state: 'st-1', ...overrides }),
    );
    return { clientId, verifier, browser, landed };
  }

  async tokenRequest(form: Record<string, string>): Promise<TokenReply> {
    const response = await fetch(`${this.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    return { status: response.status, cacheControl: response.headers.get('cache-control'), body: (await response.json()) as Record<string, string> };
  }

  exchange(flow: { clientId: string; code: string; verifier: string }, extra: Record<string, string> = {}): Promise<TokenReply> {
    return this.tokenRequest({ grant_type: 'authorization_code', client_id: flow.clientId, code: flow.code, code_verifier: flow.verifier, redirect_uri: CALLBACK, ...extra });
  }

  /**
   * A person's tokens through the whole flow: a fresh client asking for `scope`, sign-in and consent (ticking
   * administration of the organization `administration` names), and the code exchanged.
   */
  async tokensFor(who: { email: string; password: string }, options: { scope?: string; administration?: string } = {}): Promise<TokenReply> {
    const { clientId, verifier, landed } = await this.start(options.scope ? { scope: options.scope } : {});
    const code = codeFrom(await signInAndApprove(who, undefined, options.administration ? { administration: options.administration } : {})(landed as BrowserPage));
    return this.exchange({ clientId, verifier, code });
  }

  /** The HTTP status /mcp answers an initialize with this bearer token. */
  async mcpStatus(accessToken: string): Promise<number> {
    const response = await fetch(this.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    await response.body?.cancel();
    return response.status;
  }
}

/** The code a flow ended with at the client's redirect URI. */
export function codeFrom(ended: BrowserPage | Redirected): string {
  if (ended.kind !== 'redirected') throw new Error(`Expected a redirect to the client: ${ended.describe()}`);
  const code = ended.url.searchParams.get('code');
  if (!code) throw new Error(`No code in ${ended.url.href}`);
  return code;
}

/**
 * Signs in with a password from the sign-in page's email step (the email first, then the password), or from its
 * password step (a page that already asks for the password, e.g. after a wrong one).
 */
export async function signInWithPassword(page: BrowserPage, who: { email: string; password: string }): Promise<BrowserPage | Redirected> {
  let passwordStep = page;
  if (!page.labels().includes('Password')) {
    const next = await page.fill('Email', who.email).click('Continue');
    if (next.kind !== 'page') throw new Error(`Expected the password step, got a redirect to ${next.url.href}`);
    passwordStep = next;
  }
  return passwordStep.fill('Email', who.email).fill('Password', who.password).click('Sign in');
}

/**
 * The person's part of the flow on the gateway's pages: sign in, pick the organization if asked, approve; with
 * `administration`, also tick the box granting administration of that organization (which must be offered).
 */
export function signInAndApprove(who: { email: string; password: string }, organization?: string, options: { administration?: string } = {}) {
  return async (page: BrowserPage): Promise<BrowserPage | Redirected> => {
    let next: BrowserPage | Redirected = await signInWithPassword(page, who);
    if (organization && next.kind === 'page' && next.heading() === 'Choose an organization') next = await next.check(organization).click('Continue');
    if (next.kind !== 'page') return next;
    if (options.administration) next.check(`Also let it administer ${options.administration} for you`);
    return next.click('Approve');
  };
}
