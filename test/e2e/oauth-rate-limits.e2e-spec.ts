import { createHash, randomBytes } from 'node:crypto';
import { apiRequest } from '../support/admin-api';
import { BrowserPage, TestBrowser } from '../support/browser';
import { startGateway, TestGateway } from '../support/gateway';
import { signInWithPassword } from '../support/oauth-flow';

jest.setTimeout(60_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const BOB = { email: 'bob@acme.test', password: 'bob-password-4567' };
const CALLBACK = 'http://127.0.0.1:6274/oauth/callback';
// The gateway trusts X-Forwarded-For from loopback (its reverse proxy), so a test can call from another address.
const ELSEWHERE = { 'X-Forwarded-For': '203.0.113.9' };

// The limits that stop guessing and floods at the OAuth endpoints, and the partitions that keep them from
// throttling everyone behind ChatGPT's or Claude's shared egress addresses: per account and per client, not only per address.
describe('OAuth rate limits', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${BOB.email}, role: member, passwordEnv: BOB_PASSWORD }
`,
      vars: { ALICE_PASSWORD: ALICE.password, BOB_PASSWORD: BOB.password },
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
  });

  const register = async () => {
    const reply = await apiRequest<Record<string, unknown>>(gateway.baseUrl, null, 'POST', '/oauth/register', {
      client_name: 'Rate-limited client',
      redirect_uris: [CALLBACK],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    expect(reply.status).toBe(201);
    return { clientId: String(reply.body['client_id']), headers: reply.headers };
  };

  /** A fresh client and browser at the sign-in page of a valid authorization request. */
  const openSignIn = async () => {
    const { clientId } = await register();
    const url = new URL('/oauth/authorize', gateway.baseUrl);
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    for (const [name, value] of Object.entries({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256' })) {
      url.searchParams.set(name, value);
    }
    const browser = new TestBrowser(gateway.baseUrl);
    const page = await browser.open(url);
    if (page.kind !== 'page') throw new Error(`Expected the sign-in page, got a redirect to ${page.url.href}`);
    return { browser, page };
  };

  const submit = async (page: BrowserPage, who: { email: string; password: string }) => {
    const next = await signInWithPassword(page, who);
    if (next.kind !== 'page') throw new Error(`Expected a page, got a redirect to ${next.url.href}`);
    return next;
  };

  it('locks an account after 10 wrong passwords, refusing even the right one from any address, while another account on the same address signs in', async () => {
    let { browser, page } = await openSignIn();
    expect(page.headers.get('ratelimit-policy')).toBe('"authorize";q=300;w=60');
    for (let attempt = 1; attempt <= 10; attempt++) {
      page = await submit(page, { email: ALICE.email, password: `wrong-${attempt}` });
      expect(page.status).toBe(401);
      expect(page.alert()).toBe('Wrong email or password.');
    }

    const locked = await submit(page, ALICE);
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(locked.alert()).toBe(`Too many failed sign-in attempts. Try again in ${Math.ceil(retryAfter / 60)} minutes.`);
    expect(locked.labels()).toEqual(expect.arrayContaining(['Email', 'Password']));

    // The same account from another address: the lock is the account's, not the address's.
    const elsewhere = await browser.request('POST', new URL(locked.formAction('Sign in'), gateway.baseUrl), {
      form: locked.fill('Email', ALICE.email).fill('Password', ALICE.password).formValues('Sign in'),
      headers: ELSEWHERE,
    });
    expect(elsewhere.status).toBe(429);
    await elsewhere.body?.cancel();

    // Another person behind the same address is not locked out.
    const bob = await submit((await openSignIn()).page, BOB);
    expect(bob.status).toBe(200);
    expect(bob.buttons()).toEqual(expect.arrayContaining(['Approve', 'Deny']));
  });

  it('throttles one client at the token endpoint while other clients, and the same client from elsewhere, are still served', async () => {
    const registered = await register();
    expect(registered.headers.get('ratelimit-policy')).toBe('"register";q=60;w=600');
    const busy = registered.clientId;
    const other = (await register()).clientId;

    // Requests that fail still count: every request costs the server the same.
    const refresh = async (clientId: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${gateway.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, refresh_token: `ghr_${randomBytes(8).toString('hex')}` }),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, string> };
    };

    const first = await refresh(busy);
    expect(first).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(first.headers.get('ratelimit-policy')).toBe('"token";q=120;w=60, "token-ip";q=600;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"token";r=119;t=\d+, "token-ip";r=599;t=\d+$/);

    const rest = await Promise.all(Array.from({ length: 119 }, () => refresh(busy)));
    expect(rest.map((reply) => reply.status)).toEqual(Array(119).fill(400));

    const refused = await refresh(busy);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('ratelimit-policy')).toBe('"token";q=120;w=60, "token-ip";q=600;w=60');
    expect(refused.headers.get('ratelimit')).toBe(`"token";r=0;t=${retryAfter}`);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(refused.body).toEqual({ error: 'temporarily_unavailable', error_description: `Too many requests; retry after ${retryAfter} seconds` });

    const otherClient = await refresh(other);
    expect(otherClient).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(otherClient.headers.get('ratelimit')).toMatch(/^"token";r=119;t=\d+, "token-ip";r=\d+;t=\d+$/);

    // Whoever floods under a client_id spends only their own address's quota for it.
    const sameClientElsewhere = await refresh(busy, ELSEWHERE);
    expect(sameClientElsewhere).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});
