import { apiRequest } from '../support/admin-api';
import { BrowserPage, TestBrowser } from '../support/browser';
import { query } from '../support/database';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { codeFrom, OAuthFlow } from '../support/oauth-flow';
import { OidcUser, RunningOidcProvider, startOidcProvider } from '../support/oidc-provider';
import { fixtureStdioYaml, freePort } from '../support/servers';

jest.setTimeout(120_000);

const ADMIN = 'ghk_test_oidc_admin_key_0000001';
const GLOBEX_ADMIN = 'ghk_test_oidc_globex_admin_0002';
const GLOBEX_MEMBER = 'ghk_test_oidc_globex_member_003';

const IDP_USERS: Record<string, OidcUser> = {
  alice: { email: 'alice@acme.test', email_verified: true, name: 'Alice', groups: ['staff', 'gatehouse-admins'] },
  carl: { email: 'carl@acme.test', email_verified: true, groups: ['contractors'] },
  dave: { email: 'dave@acme.test', email_verified: true },
  eve: { email: 'eve@evil.test', email_verified: true, groups: ['gatehouse-admins'] },
  mallory: { email: 'mallory@acme.test', email_verified: false },
  nadia: { email: 'nadia@acme.test' },
  'alice-twin': { email: 'alice@acme.test', email_verified: true },
  gina: { email: 'gina@globex.test', email_verified: true, groups: ['globex-owners'] },
};

interface KeyView {
  name: string;
  role: string;
  kind: string;
}

// Sign-in through the organization's own identity provider: a real OpenID Connect provider (oidc-provider)
// in a child process, and Gatehouse's openid-client relying party, driven through both sides' pages.
describe('sign-in through an OIDC identity provider', () => {
  let gateway: TestGateway;
  let idp: RunningOidcProvider;
  let flows: OAuthFlow;

  beforeAll(async () => {
    const idpPort = await freePort();
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
    connections:
      - ${fixtureStdioYaml('tools')}
    identityProvider:
      issuer: http://127.0.0.1:${idpPort}
      clientId: gatehouse
      clientSecretEnv: ACME_OIDC_SECRET
      allowedDomains: [acme.test]
      groupsClaim: groups
      roleMap: { gatehouse-admins: admin, contractors: contractor }
      defaultRole: member
  - slug: globex
    name: Globex
    apiKeys:
      - { name: admin, role: admin, secretEnv: GLOBEX_ADMIN }
      - { name: member, role: member, secretEnv: GLOBEX_MEMBER }
`,
      vars: { ADMIN_KEY: ADMIN, ACME_OIDC_SECRET: 'oidc-client-secret', GLOBEX_ADMIN, GLOBEX_MEMBER },
    });
    await waitUntilConnected(gateway, ['tools']);
    idp = await startOidcProvider({
      port: idpPort,
      users: IDP_USERS,
      client: { client_id: 'gatehouse', client_secret: 'oidc-client-secret', redirect_uris: [`${gateway.baseUrl}/oauth/sso/callback`] },
    });
    flows = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
  }, 120_000);

  afterAll(async () => {
    await idp?.stop();
    await gateway?.close();
  });

  /**
   * From an MCP client's authorization request through the email step, "Continue with <organization>" and the
   * provider's login page. `email` is what the person types at the gateway; `login` who they are at the provider.
   */
  const signInAt = async (login: string, email = `${login}@acme.test`, organization = 'Acme') => {
    const browser = new TestBrowser(gateway.baseUrl, [idp.issuer]);
    const flow = await flows.start({}, browser);
    const signIn = flow.landed as BrowserPage;
    expect(signIn.kind).toBe('page');
    const offered = (await signIn.fill('Email', email).click('Continue')) as BrowserPage;
    const atProvider = (await offered.follow(`Continue with ${organization}`)) as BrowserPage;
    expect(new URL(atProvider.url).origin).toBe(idp.issuer);
    const back = await atProvider.fill('Username', login).click('Sign in at the identity provider');
    return { flow, back };
  };

  const membership = async (email: string) =>
    query<{ role: string }>(gateway.databaseUrl, 'SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1', [email]);
  const links = (email: string) =>
    query<{ issuer: string; subject: string; email: string }>(
      gateway.databaseUrl,
      'SELECT f.issuer, f.subject, f.email FROM federated_identities f JOIN users u ON u.id = f.user_id WHERE u.email = $1',
      [email],
    );
  const signInRecords = (email: string) =>
    query<{ outcome: string; data: Record<string, unknown> }>(gateway.databaseUrl, "SELECT outcome, data FROM audit_records WHERE kind = 'auth.sign_in' AND actor->>'name' = $1 ORDER BY id", [email]);

  it('provisions a person on first sign-in with the role their groups map to, and lets them authorize a client', async () => {
    expect(await membership('alice@acme.test')).toEqual([]);
    const { flow, back } = await signInAt('alice');
    const consent = back as BrowserPage;
    expect(consent.buttons()).toEqual(expect.arrayContaining(['Approve', 'Deny']));
    expect(consent.text()).toContain('alice@acme.test');
    const code = codeFrom(await consent.click('Approve'));
    const tokens = await flows.exchange({ ...flow, code });
    expect(tokens.status).toBe(200);

    expect(await membership('alice@acme.test')).toEqual([{ role: 'admin' }]);
    expect(await links('alice@acme.test')).toEqual([{ issuer: idp.issuer, subject: 'alice', email: 'alice@acme.test' }]);
    expect(await signInRecords('alice@acme.test')).toEqual([
      expect.objectContaining({ outcome: 'success', data: { method: 'oidc', issuer: idp.issuer, subject: 'alice', link: 'new_user', session: 'organization' } }),
    ]);
    const client = await connectClient(gateway.mcpUrl, tokens.body['access_token']!);
    expect((await listAllTools(client)).map((tool) => tool.name)).toEqual(expect.arrayContaining(['tools_echo']));
    await client.close();
    const keys = await apiRequest<KeyView[]>(gateway.baseUrl, ADMIN, 'GET', '/api/v1/api-keys');
    expect(keys.body).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'MCP — Hand-rolled client', kind: 'oauth_grant', role: 'admin' })]));
  });

  it('maps a contractors group to the contractor role, and no mapped group to the default role', async () => {
    await signInAt('carl');
    await signInAt('dave');
    expect(await membership('carl@acme.test')).toEqual([{ role: 'contractor' }]);
    expect(await membership('dave@acme.test')).toEqual([{ role: 'member' }]);
  });

  it('refuses an email outside the allowed domains, and an email not said to be verified, without creating anyone', async () => {
    for (const [login, email, reason, code] of [
      ['eve', 'eve@evil.test', /only acme\.test addresses/, 'domain_not_allowed'],
      ['mallory', 'mallory@acme.test', /mallory@acme\.test is not verified at the identity provider of Acme\. Verify the address there/, 'email_unverified'],
      ['nadia', 'nadia@acme.test', /nadia@acme\.test is not verified/, 'email_unverified'],
    ] as const) {
      // The provider can assert any email, whatever the person typed at the gateway.
      const { back } = await signInAt(login, `${login}@acme.test`);
      expect(back.kind).toBe('page');
      expect((back as BrowserPage).status).toBe(403);
      expect((back as BrowserPage).text()).toMatch(reason);
      expect(await query(gateway.databaseUrl, 'SELECT id FROM users WHERE email = $1', [email])).toEqual([]);
      expect(await signInRecords(email)).toEqual([
        expect.objectContaining({ outcome: 'failure', data: expect.objectContaining({ method: 'oidc', reason: code, message: expect.stringMatching(reason), subject: login }) }),
      ]);
    }
  });

  it('signs a returning person in by their subject, whatever email the provider asserts now', async () => {
    expect(await links('carl@acme.test')).toEqual([{ issuer: idp.issuer, subject: 'carl', email: 'carl@acme.test' }]);
    await idp.setUsers({ ...IDP_USERS, carl: { email: 'carl.renamed@acme.test', email_verified: true, groups: ['contractors'] } });
    try {
      const { back } = await signInAt('carl');
      expect((back as BrowserPage).buttons()).toEqual(expect.arrayContaining(['Approve']));
      expect((back as BrowserPage).text()).toContain('Signed in as carl@acme.test');
    } finally {
      await idp.setUsers(IDP_USERS);
    }
    expect(await query(gateway.databaseUrl, 'SELECT id FROM users WHERE email = $1', ['carl.renamed@acme.test'])).toEqual([]);
    expect(await links('carl@acme.test')).toEqual([{ issuer: idp.issuer, subject: 'carl', email: 'carl.renamed@acme.test' }]);
    expect((await signInRecords('carl@acme.test')).at(-1)).toMatchObject({ outcome: 'success', data: { link: 'returning', subject: 'carl' } });
  });

  it('refuses another subject of the provider asserting an email already linked there, though that person is a member', async () => {
    const { back } = await signInAt('alice-twin', 'alice@acme.test');
    expect((back as BrowserPage).status).toBe(403);
    expect((back as BrowserPage).text()).toContain('alice@acme.test already signs in through the identity provider of Acme with another account there.');
    expect(await links('alice@acme.test')).toEqual([{ issuer: idp.issuer, subject: 'alice', email: 'alice@acme.test' }]);
    expect((await signInRecords('alice@acme.test')).at(-1)).toMatchObject({ outcome: 'failure', data: { reason: 'subject_conflict', subject: 'alice-twin' } });
  });

  it("signs a person in to the dashboard through the provider, with a session for the provider's organization only", async () => {
    const browser = new TestBrowser(gateway.baseUrl, [idp.issuer]);
    const signIn = (await browser.open(`${gateway.baseUrl}/admin/sign-in`)) as BrowserPage;
    expect(signIn.heading()).toBe('Sign in to continue to the Gatehouse dashboard');
    const offered = (await signIn.fill('Email', 'alice@acme.test').click('Continue')) as BrowserPage;
    const atProvider = (await offered.follow('Continue with Acme')) as BrowserPage;
    const dashboard = (await atProvider.fill('Username', 'alice').click('Sign in at the identity provider')) as BrowserPage;
    expect(dashboard.url.pathname).toBe('/admin/');
    const cookie = browser.cookies(gateway.baseUrl).map((stored) => `${stored.name}=${stored.value}`).join('; ');
    const session = (await (await fetch(`${gateway.baseUrl}/api/v1/session`, { headers: { cookie } })).json()) as { organizations: { slug: string; role: string }[] };
    expect(session.organizations).toEqual([expect.objectContaining({ slug: 'acme', role: 'admin' })]);
    expect((await fetch(`${gateway.baseUrl}/api/v1/approvals`, { headers: { cookie, 'Gatehouse-Organization': 'acme' } })).status).toBe(200);
    expect((await fetch(`${gateway.baseUrl}/api/v1/approvals`, { headers: { cookie, 'Gatehouse-Organization': 'globex' } })).status).toBe(403);
  });

  it("refuses a dashboard sign-in finished in another browser than the one that started it", async () => {
    // The attacker starts a sign-in and has the victim's browser finish it at the provider: the victim would be
    // signed in to the dashboard as the attacker.
    const attacker = new TestBrowser(gateway.baseUrl, [idp.issuer]);
    const signIn = (await attacker.open(`${gateway.baseUrl}/admin/sign-in`)) as BrowserPage;
    const offered = (await signIn.fill('Email', 'dave@acme.test').click('Continue')) as BrowserPage;
    const href = offered.document.querySelectorAll('a').find((link) => link.text.trim() === 'Continue with Acme')!.getAttribute('href')!;
    const started = await attacker.request('GET', new URL(href, gateway.baseUrl));
    expect(started.status).toBe(302);
    const victim = new TestBrowser(gateway.baseUrl, [idp.issuer]);
    const atProvider = (await victim.open(started.headers.get('location')!)) as BrowserPage;
    const back = (await atProvider.fill('Username', 'dave').click('Sign in at the identity provider')) as BrowserPage;
    expect(back.status).toBe(403);
    expect(back.text()).toContain('This sign-in was started in another browser');
    expect(victim.cookies(gateway.baseUrl).map((stored) => stored.name)).not.toContain('gatehouse_session');
  });

  it('configures an identity provider through the admin API, never showing its secret, and signs people in through it', async () => {
    const api = (token: string, method: string, body?: unknown) => apiRequest<Record<string, unknown>>(gateway.baseUrl, token, method, '/api/v1/identity-provider', body);
    expect((await api(GLOBEX_ADMIN, 'GET')).status).toBe(404);
    const spec = {
      issuer: idp.issuer,
      clientId: 'gatehouse',
      clientSecret: 'oidc-client-secret',
      allowedDomains: ['globex.test'],
      roleMap: { 'globex-owners': 'owner' },
    };
    expect((await api(GLOBEX_MEMBER, 'PUT', spec)).status).toBe(403);
    const invalid = await api(GLOBEX_ADMIN, 'PUT', { ...spec, issuer: 'http://idp.example.com' });
    expect(invalid.status).toBe(400);
    expect(String(invalid.body['detail'])).toMatch(/issuer: must be an https URL/);

    const saved = await api(GLOBEX_ADMIN, 'PUT', spec);
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ issuer: idp.issuer, clientSecretSet: true, defaultRole: 'member', callbackUrl: `${gateway.baseUrl}/oauth/sso/callback` });
    expect(JSON.stringify(saved.body)).not.toContain('oidc-client-secret');
    const stored = await query<{ client_secret: string }>(gateway.databaseUrl, 'SELECT client_secret FROM identity_providers');
    expect(stored.map((row) => row.client_secret).join()).not.toContain('oidc-client-secret');

    const { back } = await signInAt('gina', 'gina@globex.test', 'Globex');
    expect((back as BrowserPage).buttons()).toEqual(expect.arrayContaining(['Approve']));
    expect(await membership('gina@globex.test')).toEqual([{ role: 'owner' }]);

    // The config file owns Acme's provider.
    expect((await apiRequest(gateway.baseUrl, ADMIN, 'DELETE', '/api/v1/identity-provider')).status).toBe(409);
    expect((await api(GLOBEX_ADMIN, 'DELETE')).status).toBe(204);
    expect((await api(GLOBEX_ADMIN, 'GET')).status).toBe(404);
  });
});
