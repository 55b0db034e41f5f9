import type { Browser, Page } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { launchChromium, openDashboard } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { OAuthFlow } from '../support/oauth-flow';
import { insertMember, insertPersonalKey } from '../support/personal-key';

jest.setTimeout(120_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL = { email: 'carol@acme.test', password: 'carol-password-123' };
const ALICE_KEY = 'ghk_test_dashkeys_alice_personal';
const DAVE = { email: 'dave@acme.test', password: 'dave-password-12345' };

// Keys and grants in real Chromium: a member revokes the OAuth client they connected, and it is cut off at once; an
// admin creates a key whose secret is shown once; nobody reaches another person's key.
describe('dashboard: keys and grants', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let flows: OAuthFlow;

  const signedInPage = (who: { email: string; password: string }, path: string): Promise<Page> => openDashboard(browser, gateway.baseUrl, who, path);

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${CAROL.email}, role: member, passwordEnv: CAROL_PASSWORD }
`,
      vars: { ALICE_PASSWORD: ALICE.password, CAROL_PASSWORD: CAROL.password },
    });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: ALICE.email, secret: ALICE_KEY, role: 'admin' });
    flows = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('lets a member revoke the OAuth client they connected, which is refused from its next call', async () => {
    const token = (await flows.tokensFor(CAROL)).body['access_token']!;
    expect(await flows.mcpStatus(token)).toBe(200);

    const page = await signedInPage(CAROL, '/admin/o/acme/keys');
    await page.getByRole('heading', { name: 'Keys and grants' }).waitFor();
    const row = page.getByRole('row', { name: /MCP — Hand-rolled client/ });
    await row.waitFor();
    // Their own only: the admin's personal key is not listed.
    await expect(page.getByRole('row', { name: /alice-personal/ }).count()).resolves.toBe(0);
    await row.getByRole('button', { name: 'Revoke MCP — Hand-rolled client' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('MCP — Hand-rolled client is revoked').waitFor();

    expect(await flows.mcpStatus(token)).toBe(401);
    await row.waitFor({ state: 'detached' });
  });

  it("does not let a member revoke someone else's key, by the API with their session", async () => {
    const page = await signedInPage(CAROL, '/admin/o/acme/keys');
    const keys = (await apiRequest<{ id: string; name: string }[]>(gateway.baseUrl, ALICE_KEY, 'GET', '/api/v1/api-keys')).body;
    const alices = keys.find((key) => key.name === 'alice-personal')!;
    const token = ((await (await page.context().request.get(`${gateway.baseUrl}/api/v1/session`)).json()) as { csrfToken: string }).csrfToken;
    const refused = await page.context().request.delete(`${gateway.baseUrl}/api/v1/api-keys/${alices.id}`, { headers: { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': token } });
    expect(refused.status()).toBe(404);
    expect((await apiRequest(gateway.baseUrl, ALICE_KEY, 'GET', '/api/v1/api-keys')).status).toBe(200);
  });

  it('lets an admin create a key whose secret is shown once and works', async () => {
    const page = await signedInPage(ALICE, '/admin/o/acme/keys');
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('ci-robot');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const secret = (await dialog.getByLabel('New key').textContent())!.trim();
    expect(secret).toMatch(/^ghk_/);
    expect((await apiRequest(gateway.baseUrl, secret, 'GET', '/api/v1/approvals')).status).toBe(200);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('row', { name: /ci-robot/ }).waitFor();
    // The list never carries secrets, nor their hashes.
    const listed = await page.context().request.get(`${gateway.baseUrl}/api/v1/api-keys`, { headers: { 'Gatehouse-Organization': 'acme' } });
    const text = await listed.text();
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/secret|hash/i);
  });

  it('lets an admin lower a member\'s role and remove them, whose OAuth client is cut off; config-file members stay read-only', async () => {
    await insertMember(gateway.databaseUrl, { organization: 'acme', email: DAVE.email, password: DAVE.password, role: 'admin' });
    const token = (await flows.tokensFor(DAVE)).body['access_token']!;
    expect(await flows.mcpStatus(token)).toBe(200);

    const page = await signedInPage(ALICE, '/admin/o/acme/members');
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    const dave = page.getByRole('row', { name: new RegExp(DAVE.email) });
    await dave.getByLabel(`Role of ${DAVE.email}`).click();
    await page.getByRole('option', { name: 'member', exact: true }).click();
    await page.getByText(`${DAVE.email} is now member.`).waitFor();
    const members = await apiRequest<{ email: string; role: string }[]>(gateway.baseUrl, ALICE_KEY, 'GET', '/api/v1/members');
    expect(members.body.find((member) => member.email === DAVE.email)?.role).toBe('member');
    // The config file's people cannot be changed here, and say why.
    const carol = page.getByRole('row', { name: new RegExp(CAROL.email) });
    await carol.getByText('From the config file').waitFor();
    await expect(carol.getByLabel(`Role of ${CAROL.email}`).isDisabled()).resolves.toBe(true);

    await dave.getByRole('button', { name: `Remove ${DAVE.email}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await page.getByText(`${DAVE.email} is removed; 1 of their keys and grants were revoked.`).waitFor();
    expect(await flows.mcpStatus(token)).toBe(401);
    // Members is not a page a member sees.
    const member = await signedInPage(CAROL, '/admin/o/acme/approvals');
    await member.getByRole('heading', { name: 'Approvals' }).waitFor();
    await expect(member.getByRole('link', { name: 'Members' }).count()).resolves.toBe(0);
  });
});
