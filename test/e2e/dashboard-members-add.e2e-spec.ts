import { createHash } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { RedisService } from '@gatehouse/db';
import { apiRequest } from '../support/admin-api';
import { csrfToken, launchChromium, openDashboard, signInToDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { TEST_PLATFORM } from '../support/platform';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL = { email: 'carol@acme.test', password: 'carol-password-123' };
const GINA = { email: 'gina@globex.test', password: 'gina-password-1234' };
const ACME_ADMIN = 'ghk_test_membersadd_acme_admin';
const GLOBEX_ADMIN = 'ghk_test_membersadd_globex_admin';
const CLIENT_SECRET = 'a-client-secret-never-returned-1234';

type AddedMember = { member: { userId: string; email: string; role: string }; signIn: { method: string; setPasswordUrl?: string; expiresAt?: string } };

// Adding people in real Chromium, and the identity provider's settings: a person added without a password chooses one
// at a one-time link the admin passes on, then signs in as anyone does; the link, the roles and the organizations
// are attacked on the way.
describe('dashboard: adding members and the identity provider', () => {
  let gateway: TestGateway;
  let browser: Browser;

  const signedInPage = (who: { email: string; password: string }, path: string): Promise<Page> => openDashboard(browser, gateway.baseUrl, who, path);
  const addByApi = (body: unknown, token = ACME_ADMIN) => apiRequest<AddedMember & { detail?: string }>(gateway.baseUrl, token, 'POST', '/api/v1/members', body);
  /** A change through the page's own session, as the dashboard sends it (CSRF token unless `csrf: false`). */
  const sessionPost = async (page: Page, path: string, body: unknown, options: { organization?: string; csrf?: boolean } = {}) => {
    const headers: Record<string, string> = { 'Gatehouse-Organization': options.organization ?? 'acme' };
    if (options.csrf !== false) headers['X-CSRF-Token'] = await csrfToken(page);
    return page.context().request.post(`${gateway.baseUrl}${path}`, { data: body, headers });
  };
  const linkPage = async (url: string): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    return page;
  };

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${CAROL.email}, role: member, passwordEnv: CAROL_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_ADMIN }
  - slug: globex
    name: Globex
    members:
      - { email: ${GINA.email}, role: admin, passwordEnv: GINA_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: GLOBEX_ADMIN }
    identityProvider:
      issuer: http://127.0.0.1:9/globex
      clientId: globex-gatehouse
      clientSecretEnv: GLOBEX_OIDC_SECRET
      allowedDomains: [globex.test]
      roleMap: { ops: admin }
`,
      vars: { ALICE_PASSWORD: ALICE.password, CAROL_PASSWORD: CAROL.password, GINA_PASSWORD: GINA.password, ACME_ADMIN, GLOBEX_ADMIN, GLOBEX_OIDC_SECRET: 'globex-oidc-secret-123' },
      // The identity provider saved through the page is reached by name on loopback.
      platform: { ...TEST_PLATFORM, egress: { allow: ['localhost'] } },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('lets an admin add a member whose set-password link works once, after which they sign in and see the dashboard as a member', async () => {
    const page = await signedInPage(ALICE, '/admin/o/acme/members');
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    await page.getByRole('button', { name: 'Add member' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Email').fill('Nina@Acme.test');
    await dialog.getByLabel('Name').fill('Nina');
    expect(await violations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Add' }).click();
    const link = (await dialog.getByLabel('Set-password link').textContent())!.trim();
    expect(link).toMatch(new RegExp(`^${gateway.baseUrl}/admin/sign-in/set-password\\?token=[\\w-]{43}$`));
    await dialog.getByRole('button', { name: 'Copy link' }).waitFor();
    expect(await violations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('row', { name: /nina@acme\.test/ }).waitFor();

    // The link is recorded nowhere: the audit names the member only.
    const audit = await apiRequest<{ items: unknown[] }>(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/audit/records?limit=20');
    expect(JSON.stringify(audit.body)).toContain('admin.member.added');
    expect(JSON.stringify(audit.body)).not.toContain(new URL(link).searchParams.get('token')!);

    const nina = await linkPage(link);
    await nina.getByRole('heading', { name: 'Choose your password' }).waitFor();
    expect(await violations(nina)).toEqual([]);
    // Too short, then two that differ: refused in words, and the link still works.
    await nina.getByLabel('New password', { exact: true }).fill('short');
    await nina.getByLabel('Confirm password').fill('short');
    await nina.getByLabel('New password', { exact: true }).evaluate((input) => input.removeAttribute('minlength'));
    await nina.getByLabel('Confirm password').evaluate((input) => input.removeAttribute('minlength'));
    await nina.getByRole('button', { name: 'Set password' }).click();
    await nina.getByText('Choose a password of at least 12 characters.').waitFor();
    await nina.getByLabel('New password', { exact: true }).fill('nina-password-1234');
    await nina.getByLabel('Confirm password').fill('nina-password-9999');
    await nina.getByRole('button', { name: 'Set password' }).click();
    await nina.getByText('The two passwords differ.').waitFor();
    await nina.getByLabel('New password', { exact: true }).fill('nina-password-1234');
    await nina.getByLabel('Confirm password').fill('nina-password-1234');
    await nina.getByRole('button', { name: 'Set password' }).click();
    await nina.getByRole('heading', { name: 'Your password is set' }).waitFor();
    await nina.getByRole('link', { name: 'Sign in' }).click();
    await signInToDashboard(nina, gateway.baseUrl, { email: 'nina@acme.test', password: 'nina-password-1234' }, '/admin/o/acme/approvals');
    await nina.getByRole('heading', { name: 'Approvals' }).waitFor();
    await expect(nina.getByRole('link', { name: 'Members' }).count()).resolves.toBe(0);

    // Used once: opened or posted again, it is refused in words and the password stays.
    const again = await linkPage(link);
    await again.getByText('This link can no longer be used').waitFor();
    // Posted again with this browser's own sign-in binding (as the form would be): refused.
    await again.goto(`${gateway.baseUrl}/admin/sign-in`);
    const binding = (await again.locator('input[name="csrf"]').getAttribute('value'))!;
    const replay = await again.context().request.post(`${gateway.baseUrl}/admin/sign-in/set-password`, {
      form: { csrf: binding, token: new URL(link).searchParams.get('token')!, password: 'attacker-password-1', confirm: 'attacker-password-1' },
    });
    expect(replay.status()).toBe(410);
    expect(await replay.text()).toContain('This link can no longer be used');
    const signedIn = await (await browser.newContext()).newPage();
    await signInToDashboard(signedIn, gateway.baseUrl, { email: 'nina@acme.test', password: 'nina-password-1234' });
  });

  it('refuses a forged or expired link, and a link posted from another site', async () => {
    const forged = await linkPage(`${gateway.baseUrl}/admin/sign-in/set-password?token=${'A'.repeat(43)}`);
    await forged.getByText('This link can no longer be used').waitFor();
    const junk = await linkPage(`${gateway.baseUrl}/admin/sign-in/set-password?token=${'x'.repeat(5000)}`);
    await junk.getByText('This link can no longer be used').waitFor();
    // Text that cannot be stored is refused at the door, before any route.
    const unstorable = await fetch(`${gateway.baseUrl}/admin/sign-in/set-password?token=${'%00'.repeat(100)}`);
    expect(unstorable.status).toBe(400);

    const added = await addByApi({ email: 'olga@acme.test', role: 'member' });
    expect(added.status).toBe(201);
    const link = added.body.signIn.setPasswordUrl!;
    const token = new URL(link).searchParams.get('token')!;
    // Another site's form: no binding cookie, so refused before the link is looked at (and it stays usable).
    const crossSite = await fetch(`${gateway.baseUrl}/admin/sign-in/set-password`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, password: 'olga-password-1234', confirm: 'olga-password-1234', csrf: 'guess' }).toString(),
    });
    expect(crossSite.status).toBe(403);
    // Expired: Redis forgets it at its time to live.
    const page = await linkPage(link);
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    const redis = gateway.app.get(RedisService);
    await redis.client.pexpire(redis.key('password-setup', createHash('sha256').update(token).digest('base64url')), 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await page.getByLabel('New password', { exact: true }).fill('olga-password-1234');
    await page.getByLabel('Confirm password').fill('olga-password-1234');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('This link can no longer be used').waitFor();
  });

  it('never sets a password for someone who has one, and dies with the membership', async () => {
    // Carol signs in with her password: added elsewhere, she gets no link.
    const intoGlobex = await addByApi({ email: CAROL.email, role: 'member' }, GLOBEX_ADMIN);
    expect(intoGlobex.status).toBe(201);
    expect(intoGlobex.body.signIn).toEqual({ method: 'password' });

    const added = await addByApi({ email: 'pete@acme.test', role: 'contractor' });
    const removed = await apiRequest(gateway.baseUrl, ACME_ADMIN, 'DELETE', `/api/v1/members/${added.body.member.userId}`);
    expect(removed.status).toBe(200);
    const page = await linkPage(added.body.signIn.setPasswordUrl!);
    await page.getByText('This link can no longer be used').waitFor();
  });

  it('refuses what an admin may not do, and every other role and organization', async () => {
    // An admin cannot add an owner: above their own role, said in words.
    const alice = await signedInPage(ALICE, '/admin/o/acme/members');
    await alice.getByRole('button', { name: 'Add member' }).click();
    const dialog = alice.getByRole('dialog');
    await dialog.getByLabel('Email').fill('boss@acme.test');
    await dialog.getByLabel('Role', { exact: true }).click();
    await alice.getByRole('option', { name: 'owner', exact: true }).click();
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.getByRole('alert').getByText('Your role (admin) cannot manage the role owner').waitFor();
    expect((await addByApi({ email: 'boss@acme.test', role: 'owner' })).status).toBe(403);

    // Already a member: 409 in words.
    const existing = await addByApi({ email: CAROL.email, role: 'member' });
    expect(existing.status).toBe(409);
    expect(existing.body.detail).toContain('already a member');
    // Two admins adding the same new person at once: one adds them, the other is told they are a member (never a 500).
    for (let round = 0; round < 5; round++) {
      const email = `race-${round}@acme.test`;
      const replies = await Promise.all([addByApi({ email, role: 'member' }), addByApi({ email, role: 'contractor' }), addByApi({ email, role: 'member' })]);
      expect(replies.map((reply) => reply.status).sort()).toEqual([201, 409, 409]);
    }

    // A member cannot add anyone; a session change without the CSRF token is refused.
    const carol = await signedInPage(CAROL, '/admin/o/acme/approvals');
    expect((await sessionPost(carol, '/api/v1/members', { email: 'friend@acme.test', role: 'contractor' })).status()).toBe(403);
    expect((await sessionPost(alice, '/api/v1/members', { email: 'friend@acme.test', role: 'contractor' }, { csrf: false })).status()).toBe(403);

    // Another organization's admin: their session cannot act in acme, their key adds to their own organization only.
    const gina = await signedInPage(GINA, '/admin/o/globex/members');
    expect((await sessionPost(gina, '/api/v1/members', { email: 'spy@acme.test', role: 'admin' })).status()).toBe(403);
    await apiRequest(gateway.baseUrl, GLOBEX_ADMIN, 'POST', '/api/v1/members', { email: 'spy2@acme.test', role: 'member' }, { 'Gatehouse-Organization': 'acme' });
    const acme = await apiRequest<{ email: string }[]>(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/members');
    expect(acme.body.map((member) => member.email)).not.toEqual(expect.arrayContaining(['friend@acme.test']));
    expect(acme.body.map((member) => member.email).filter((email) => email.startsWith('spy'))).toEqual([]);
    expect(acme.body.map((member) => member.email)).not.toContain('boss@acme.test');
  });

  it('answers hostile input with a 400 problem, never a 500', async () => {
    for (const body of [
      { email: `${'a'.repeat(250)}@acme.test`, role: 'member' },
      { email: 'not-an-email', role: 'member' },
      { email: 'x@acme.test', role: 'god' },
      { email: 'x@acme.test', role: 'member', name: 'n'.repeat(10_000) },
      { email: 'x@acme.test', role: 'member', admin: true },
      { email: ['x@acme.test'], role: 'member' },
      { email: 'x\u0000@acme.test', role: 'member' },
    ]) {
      const reply = await addByApi(body);
      expect({ body, status: reply.status, type: reply.contentType }).toEqual({ body, status: 400, type: expect.stringContaining('problem+json') });
    }
  });

  it('saves the identity provider with a secret that is never returned, after which its people sign in through it', async () => {
    const page = await signedInPage(ALICE, '/admin/o/acme/identity-provider');
    await page.getByRole('heading', { name: 'Identity provider' }).waitFor();
    await page.getByLabel('Issuer').fill('http://localhost:9/acme');
    await page.getByLabel('Client ID').fill('acme-gatehouse');
    await page.getByLabel('Client secret').fill(CLIENT_SECRET);
    await page.getByLabel('Allowed domains').fill('sso.acme.test, corp.acme.test');
    await page.getByRole('button', { name: 'Add group' }).click();
    await page.getByRole('textbox', { name: 'Group 1', exact: true }).fill('gatehouse-admins');
    await page.getByRole('combobox', { name: 'Role of group 1' }).click();
    await page.getByRole('option', { name: 'admin', exact: true }).click();
    expect(await violations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('The identity provider is saved.').waitFor();
    await page.getByText('A secret is set. Leave empty to keep it.').waitFor();

    const stored = await apiRequest<Record<string, unknown>>(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/identity-provider');
    expect(stored.body).toMatchObject({ issuer: 'http://localhost:9/acme', clientSecretSet: true, allowedDomains: ['sso.acme.test', 'corp.acme.test'], roleMap: { 'gatehouse-admins': 'admin' } });
    expect(JSON.stringify(stored.body)).not.toContain(CLIENT_SECRET);
    // Saved again without a secret: the stored one is kept.
    await page.getByLabel('Client ID').fill('acme-gatehouse-2');
    await page.getByRole('button', { name: 'Save' }).click();
    await waitFor('the second save', async () => (await apiRequest<{ clientId: string }>(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/identity-provider')).body.clientId === 'acme-gatehouse-2');
    expect(JSON.stringify((await apiRequest(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/identity-provider')).body)).toContain('"clientSecretSet":true');

    // A person of its domains is added with no link: they sign in through the provider.
    await page.goto(`${gateway.baseUrl}/admin/o/acme/members`);
    await page.getByRole('button', { name: 'Add member' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Email').fill('sam@sso.acme.test');
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.getByText("signs in through the organization's identity provider").waitFor();
    await expect(dialog.getByLabel('Set-password link').count()).resolves.toBe(0);

    // A member cannot read or change it.
    const carol = await signedInPage(CAROL, '/admin/o/acme/approvals');
    expect((await carol.context().request.get(`${gateway.baseUrl}/api/v1/identity-provider`, { headers: { 'Gatehouse-Organization': 'acme' } })).status()).toBe(403);

    // Delete, with a confirmation.
    await page.goto(`${gateway.baseUrl}/admin/o/acme/identity-provider`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('The identity provider is deleted').waitFor();
    expect((await apiRequest(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/identity-provider')).status).toBe(404);
  });

  it("shows a config-file identity provider read-only, with its YAML", async () => {
    const page = await signedInPage(GINA, '/admin/o/globex/identity-provider');
    await page.getByText('Managed by the config file').waitFor();
    const yaml = await page.getByLabel('Config file entry of the identity provider').textContent();
    expect(yaml).toContain('clientId: "globex-gatehouse"');
    expect(yaml).not.toContain('globex-oidc-secret-123');
    await expect(page.getByRole('button', { name: 'Save' }).count()).resolves.toBe(0);
    expect(await violations(page)).toEqual([]);
    const put = await apiRequest(gateway.baseUrl, GLOBEX_ADMIN, 'PUT', '/api/v1/identity-provider', { issuer: 'http://localhost:9/x', clientId: 'x', allowedDomains: ['globex.test'] });
    expect(put.status).toBe(409);
  });
});
