import { RedisService } from '@gatehouse/db';
import { apiRequest } from '../support/admin-api';
import { BrowserPage, Redirected, TestBrowser } from '../support/browser';
import { query } from '../support/database';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { codeFrom, OAuthFlow, StartedFlow } from '../support/oauth-flow';
import { RunningOidcProvider, startOidcProvider } from '../support/oidc-provider';
import { TEST_PLATFORM } from '../support/platform';
import { fixtureStdioYaml, freePort } from '../support/servers';

jest.setTimeout(120_000);

const ATTACKER_ADMIN = 'ghk_test_takeover_attacker_adm01';
const BOB = { email: 'bob@victim.test', password: 'bob-password-victim-1' };
const IDP_SECRET = 'idp-client-secret';
const SESSION_COOKIE = 'gatehouse_session';
// Both deployments' victim organization, owned by bob with a local password; each adds what it needs.
const VICTIM = `
  - slug: victim
    name: Victim
    members:
      - { email: ${BOB.email}, role: owner, passwordEnv: BOB_PASSWORD }`;

/** Answers a page: fails the test with what came instead. */
function page(result: BrowserPage | Redirected): BrowserPage {
  if (result.kind !== 'page') throw new Error(`Expected a page, got a redirect to ${result.url.href}`);
  return result;
}

const organizationId = async (gateway: TestGateway, slug: string) =>
  (await query<{ id: string }>(gateway.databaseUrl, 'SELECT id::text FROM organizations WHERE slug = $1', [slug]))[0]!.id;

const signInRecords = (gateway: TestGateway, organization: string) =>
  query<{ outcome: string; actor: { name: string }; data: Record<string, unknown> }>(
    gateway.databaseUrl,
    "SELECT a.outcome, a.actor, a.data FROM audit_records a JOIN organizations o ON o.id = a.organization_id WHERE o.slug = $1 AND a.kind = 'auth.sign_in' ORDER BY a.id",
    [organization],
  );

// The attack of an organization's admin on another organization's owner, made for real: two organizations on one
// gateway, the attacker's admin (an API key) configuring through the admin API an identity provider they run (a
// second, real oidc-provider) that asserts the victim's email, and the whole OAuth flow played from their side.
describe('an organization admin\'s identity provider cannot take over another organization\'s owner', () => {
  let gateway: TestGateway;
  let attackerIdp: RunningOidcProvider;
  let flows: OAuthFlow;
  let victimId: string;

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:${VICTIM}
    connections:
      - ${fixtureStdioYaml('victimtools')}
  - slug: attacker
    name: Attacker
    apiKeys:
      - { name: admin, role: admin, secretEnv: ATTACKER_ADMIN }
    connections:
      - ${fixtureStdioYaml('attackertools')}
`,
      vars: { BOB_PASSWORD: BOB.password, ATTACKER_ADMIN },
    });
    await waitUntilConnected(gateway, ['victimtools', 'attackertools']);
    attackerIdp = await startOidcProvider({
      port: await freePort(),
      users: {
        bob: { email: BOB.email, email_verified: true, name: 'Not Bob' },
        newcomer: { email: 'newcomer@victim.test', name: 'No email_verified' },
      },
      client: { client_id: 'gatehouse', client_secret: IDP_SECRET, redirect_uris: [`${gateway.baseUrl}/oauth/sso/callback`] },
    });
    const configured = await apiRequest(gateway.baseUrl, ATTACKER_ADMIN, 'PUT', '/api/v1/identity-provider', {
      issuer: attackerIdp.issuer,
      clientId: 'gatehouse',
      clientSecret: IDP_SECRET,
      allowedDomains: ['victim.test'],
    });
    expect(configured.status).toBe(200);
    victimId = await organizationId(gateway, 'victim');
    flows = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
  }, 120_000);

  afterAll(async () => {
    await attackerIdp?.stop();
    await gateway?.close();
  });

  /** A fresh browser's authorization request, the email typed at the gateway, and the step that follows. */
  const giveEmail = async (email: string): Promise<{ flow: StartedFlow; next: BrowserPage | Redirected }> => {
    const flow = await flows.start({}, new TestBrowser(gateway.baseUrl, [attackerIdp.issuer]));
    return { flow, next: await page(flow.landed).fill('Email', email).click('Continue') };
  };

  /** The attacker's way in: bob's email, "Continue with Attacker", and their provider's login as `login`. */
  const throughAttackerIdp = async (login: string, email = BOB.email) => {
    const { flow, next } = await giveEmail(email);
    const atProvider = page(await page(next).follow('Continue with Attacker'));
    expect(new URL(atProvider.url).origin).toBe(attackerIdp.issuer);
    return { flow, back: await atProvider.fill('Username', login).click('Sign in at the identity provider') };
  };

  const hasSession = (browser: TestBrowser) => browser.cookies(gateway.baseUrl).some((cookie) => cookie.name === SESSION_COOKIE);
  const codesFor = (organization: string) =>
    query(gateway.databaseUrl, 'SELECT c.id FROM oauth_authorization_codes c JOIN organizations o ON o.id = c.organization_id WHERE o.slug = $1', [organization]);

  it('names no identity provider on the sign-in page of a fresh request until an email is given, and then only those for its domain', async () => {
    const { landed } = await flows.start();
    const fresh = page(landed);
    expect(fresh.heading()).toBe('Sign in to continue to Hand-rolled client');
    expect(fresh.labels()).toEqual(['Email']);
    expect(fresh.document.querySelectorAll('a')).toHaveLength(0);
    expect(fresh.text()).not.toMatch(/Attacker|Victim|Continue with/);

    const elsewhere = page((await giveEmail('someone@elsewhere.test')).next);
    expect(elsewhere.labels()).toEqual(['Email', 'Password']);
    expect(elsewhere.text()).not.toMatch(/Attacker|Continue with/);

    // Nobody verified victim.test: the provider claiming it is offered beside the password, never gone to directly.
    const victimDomain = page((await giveEmail(BOB.email)).next);
    expect(victimDomain.document.querySelectorAll('a').map((link) => link.text)).toEqual(['Continue with Attacker']);
    expect(victimDomain.labels()).toEqual(['Email', 'Password']);
  });

  it('gives the attacker no session for bob, no code or token for victim, and records why', async () => {
    const { flow, back } = await throughAttackerIdp('bob');
    const refused = page(back);
    expect(refused.status).toBe(403);
    expect(refused.heading()).toBe('Sign-in failed');
    expect(refused.text()).toContain(
      'An account with bob@victim.test already exists, and the identity provider of Attacker cannot sign it in. Sign in with your password or through your own organization\'s sign-in. If Attacker owns victim.test, the deployment operator can verify that domain for it in platform.organizations.',
    );
    expect(hasSession(flow.browser)).toBe(false);

    // The rest of the old attack: choose victim and approve, with the request's own form fields.
    const form = page(flow.landed);
    const fields = { request: form.hidden('request')!, csrf: form.hidden('csrf')! };
    for (const [path, extra] of [['/oauth/organization', { organization: victimId }], ['/oauth/consent', { decision: 'approve' }]] as const) {
      const forged = await flow.browser.request('POST', new URL(path, gateway.baseUrl), { form: { ...fields, ...extra } });
      expect(forged.status).toBe(303);
      expect(forged.headers.get('location')).toBe(`/oauth/continue?request=${encodeURIComponent(fields.request)}`);
      await forged.body?.cancel();
    }
    expect(page(await flow.browser.open(new URL(`/oauth/continue?request=${encodeURIComponent(fields.request)}`, gateway.baseUrl))).labels()).toEqual(['Email']);

    expect(await codesFor('victim')).toEqual([]);
    expect(await query(gateway.databaseUrl, "SELECT id FROM api_keys WHERE kind = 'oauth_grant'")).toEqual([]);
    expect(await query(gateway.databaseUrl, 'SELECT id FROM federated_identities')).toEqual([]);
    expect(await query(gateway.databaseUrl, 'SELECT o.slug FROM memberships m JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id WHERE u.email = $1', [BOB.email])).toEqual([
      { slug: 'victim' },
    ]);
    expect((await signInRecords(gateway, 'attacker')).at(-1)).toMatchObject({
      outcome: 'failure',
      actor: { name: BOB.email },
      data: { method: 'oidc', reason: 'account_exists', issuer: attackerIdp.issuer, subject: 'bob', message: expect.stringContaining('already exists') },
    });
  });

  it('refuses an assertion without email_verified, creating nobody', async () => {
    const { back } = await throughAttackerIdp('newcomer', 'newcomer@victim.test');
    const refused = page(back);
    expect(refused.status).toBe(403);
    expect(refused.text()).toContain('newcomer@victim.test is not verified at the identity provider of Attacker.');
    expect(await query(gateway.databaseUrl, 'SELECT id FROM users WHERE email = $1', ['newcomer@victim.test'])).toEqual([]);
    expect((await signInRecords(gateway, 'attacker')).at(-1)).toMatchObject({ outcome: 'failure', data: { reason: 'email_unverified', subject: 'newcomer' } });
  });

  describe('when bob is also a member of attacker', () => {
    beforeAll(async () => {
      // As the config file would make him (no API adds members).
      await query(
        gateway.databaseUrl,
        "INSERT INTO memberships (id, organization_id, user_id, role) SELECT gen_random_uuid(), o.id, u.id, 'member' FROM organizations o, users u WHERE o.slug = 'attacker' AND u.email = $1",
        [BOB.email],
      );
    });

    it('signs him in to attacker only: no choice of victim, a forged choice refused (and the session ended), the token for attacker', async () => {
      const { flow, back } = await throughAttackerIdp('bob');
      const consent = page(back);
      // Straight to attacker's consent: the organization page never offers victim.
      expect(consent.heading()).toBe('Hand-rolled client wants to access Attacker');
      expect(hasSession(flow.browser)).toBe(true);
      expect((await signInRecords(gateway, 'attacker')).at(-1)).toMatchObject({ outcome: 'success', data: { subject: 'bob', link: 'member', session: 'organization' } });

      const fields = { request: consent.hidden('request')!, csrf: consent.hidden('csrf')! };
      const forged = await flow.browser.request('POST', new URL('/oauth/organization', gateway.baseUrl), { form: { ...fields, organization: victimId } });
      expect(forged.status).toBe(403);
      expect(await forged.text()).toContain('You signed in through the identity provider of Attacker, which signs you in to Attacker only, so you have been signed out.');
      expect(hasSession(flow.browser)).toBe(false);

      // Signed in again the same way, he approves attacker: the code, the token and the tools are attacker's.
      const again = await throughAttackerIdp('bob');
      const code = codeFrom(await page(again.back).click('Approve'));
      const tokens = await flows.exchange({ ...again.flow, code });
      expect(tokens.status).toBe(200);
      const client = await connectClient(gateway.mcpUrl, tokens.body['access_token']!);
      const names = (await listAllTools(client)).map((tool) => tool.name);
      await client.close();
      expect(names).toEqual(expect.arrayContaining(['attackertools_echo']));
      expect(names.filter((name) => name.startsWith('victimtools_'))).toEqual([]);
      expect(await codesFor('victim')).toEqual([]);
      expect(await codesFor('attacker')).toHaveLength(1);
    });

    it('issues no code for victim even when the pending request names it (as no page lets it)', async () => {
      const { back } = await throughAttackerIdp('bob');
      const consent = page(back);
      expect(consent.heading()).toBe('Hand-rolled client wants to access Attacker');
      const redis = gateway.app.get(RedisService);
      const key = redis.key('oauth-request', consent.hidden('request')!);
      const pending = JSON.parse((await redis.client.get(key))!) as Record<string, unknown>;
      await redis.client.set(key, JSON.stringify({ ...pending, organizationId: victimId }), 'KEEPTTL');

      const refused = page(await consent.click('Approve'));
      expect(refused.status).toBe(403);
      expect(refused.text()).toContain('which signs you in to Attacker only');
      expect(await codesFor('victim')).toEqual([]);
    });
  });
});

// The operator's verification is what lets a provider sign people in beyond its organization.
describe('an identity provider whose domain the operator verified', () => {
  let gateway: TestGateway;
  let victimIdp: RunningOidcProvider;
  let flows: OAuthFlow;

  beforeAll(async () => {
    const idpPort = await freePort();
    gateway = await startGateway({
      platform: { ...TEST_PLATFORM, organizations: [{ slug: 'victim', verifiedDomains: ['victim.test'] }] },
      yaml: `
organizations:${VICTIM}
    identityProvider:
      issuer: http://127.0.0.1:${idpPort}
      clientId: gatehouse
      clientSecretEnv: IDP_SECRET
      allowedDomains: [victim.test]
  - slug: partner
    name: Partner
    members:
      - { email: ${BOB.email}, role: member }
  # Claims victim.test too; never contacted, because the verified provider wins.
  - slug: attacker
    name: Attacker
    identityProvider:
      issuer: http://127.0.0.1:${await freePort()}
      clientId: gatehouse
      clientSecretEnv: IDP_SECRET
      allowedDomains: [victim.test]
`,
      vars: { BOB_PASSWORD: BOB.password, IDP_SECRET },
    });
    victimIdp = await startOidcProvider({
      port: idpPort,
      users: { bob: { email: BOB.email, email_verified: true, name: 'Bob' } },
      client: { client_id: 'gatehouse', client_secret: IDP_SECRET, redirect_uris: [`${gateway.baseUrl}/oauth/sso/callback`] },
    });
    flows = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
  }, 120_000);

  afterAll(async () => {
    await victimIdp?.stop();
    await gateway?.close();
  });

  it('sends bob straight to victim\'s own provider, which signs him in with a full session: he may choose any of his organizations', async () => {
    const flow = await flows.start({}, new TestBrowser(gateway.baseUrl, [victimIdp.issuer]));
    const atProvider = page(await page(flow.landed).fill('Email', BOB.email).click('Continue'));
    expect(new URL(atProvider.url).origin).toBe(victimIdp.issuer);
    const choice = page(await atProvider.fill('Username', 'bob').click('Sign in at the identity provider'));
    expect(choice.heading()).toBe('Choose an organization');
    expect(choice.document.querySelectorAll('.option-name').map((name) => name.text)).toEqual(['Partner', 'Victim']);

    const consent = page(await choice.check('Partner').click('Continue'));
    expect(consent.heading()).toBe('Hand-rolled client wants to access Partner');
    const tokens = await flows.exchange({ ...flow, code: codeFrom(await consent.click('Approve')) });
    expect(tokens.status).toBe(200);
    expect(
      await query(gateway.databaseUrl, "SELECT o.slug FROM api_keys k JOIN organizations o ON o.id = k.organization_id WHERE k.kind = 'oauth_grant'"),
    ).toEqual([{ slug: 'partner' }]);
    expect(await query(gateway.databaseUrl, 'SELECT f.issuer, f.subject FROM federated_identities f JOIN users u ON u.id = f.user_id WHERE u.email = $1', [BOB.email])).toEqual([
      { issuer: victimIdp.issuer, subject: 'bob' },
    ]);
    expect((await signInRecords(gateway, 'victim')).at(-1)).toMatchObject({ outcome: 'success', data: { method: 'oidc', link: 'member', session: 'full' } });
  });
});
