import { apiRequest } from '../support/admin-api';
import { BrowserPage, TestBrowser } from '../support/browser';
import { query } from '../support/database';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { codeFrom, OAuthFlow } from '../support/oauth-flow';
import { RunningOidcProvider, startOidcProvider } from '../support/oidc-provider';
import { fixtureStdioYaml, freePort } from '../support/servers';

jest.setTimeout(120_000);

const ADMIN = 'ghk_test_oidc_admin_key_0000001';
const GLOBEX_ADMIN = 'ghk_test_oidc_globex_admin_0002';
const GLOBEX_MEMBER = 'ghk_test_oidc_globex_member_003';

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
      users: {
        alice: { email: 'alice@acme.test', email_verified: true, name: 'Alice', groups: ['staff', 'gatehouse-admins'] },
        carl: { email: 'carl@acme.test', email_verified: true, groups: ['contractors'] },
        dave: { email: 'dave@acme.test', email_verified: true },
        eve: { email: 'eve@evil.test', email_verified: true, groups: ['gatehouse-admins'] },
        mallory: { email: 'mallory@acme.test', email_verified: false },
        gina: { email: 'gina@globex.test', email_verified: true, groups: ['globex-owners'] },
      },
      client: { client_id: 'gatehouse', client_secret: 'oidc-client-secret', redirect_uris: [`${gateway.baseUrl}/oauth/sso/callback`] },
    });
    flows = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
  }, 120_000);

  afterAll(async () => {
    await idp?.stop();
    await gateway?.close();
  });

  /** From an MCP client's authorization request through "Continue with <organization>" and the provider's login page. */
  const signInAt = async (login: string, organization = 'Acme') => {
    const browser = new TestBrowser(gateway.baseUrl, [idp.issuer]);
    const flow = await flows.start({}, browser);
    const signIn = flow.landed as BrowserPage;
    expect(signIn.kind).toBe('page');
    const atProvider = (await signIn.follow(`Continue with ${organization}`)) as BrowserPage;
    expect(new URL(atProvider.url).origin).toBe(idp.issuer);
    const back = await atProvider.fill('Username', login).click('Sign in at the identity provider');
    return { flow, back };
  };

  const membership = async (email: string) =>
    query<{ role: string }>(gateway.databaseUrl, 'SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1', [email]);

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

  it('refuses an email outside the allowed domains, and an unverified email, without creating anyone', async () => {
    for (const [login, email, reason] of [
      ['eve', 'eve@evil.test', /only acme\.test addresses/],
      ['mallory', 'mallory@acme.test', /not verified/],
    ] as const) {
      const { back } = await signInAt(login);
      expect(back.kind).toBe('page');
      expect((back as BrowserPage).status).toBe(403);
      expect((back as BrowserPage).text()).toMatch(reason);
      expect(await query(gateway.databaseUrl, 'SELECT id FROM users WHERE email = $1', [email])).toEqual([]);
    }
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

    const { back } = await signInAt('gina', 'Globex');
    expect((back as BrowserPage).buttons()).toEqual(expect.arrayContaining(['Approve']));
    expect(await membership('gina@globex.test')).toEqual([{ role: 'owner' }]);

    // The config file owns Acme's provider.
    expect((await apiRequest(gateway.baseUrl, ADMIN, 'DELETE', '/api/v1/identity-provider')).status).toBe(409);
    expect((await api(GLOBEX_ADMIN, 'DELETE')).status).toBe(204);
    expect((await api(GLOBEX_ADMIN, 'GET')).status).toBe(404);
  });
});
