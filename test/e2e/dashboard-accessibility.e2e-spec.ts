import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signInToDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { insertPersonalKey } from '../support/personal-key';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL_KEY = 'ghk_test_dash_axe_carol_personal';

// Every page of the dashboard, with content on it, checked by axe-core in real Chromium; and the inbox used with the
// keyboard alone.
describe('dashboard: accessibility', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let page: Page;
  let carol: Client;

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: carol@acme.test, role: member }
    connections:
      - ${fixtureStdioYaml('tools')}
    policies:
      - name: notes-need-approval
        match: { tools: [tools_write_note] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
`,
      vars: { ALICE_PASSWORD: ALICE.password },
    });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: 'carol@acme.test', secret: CAROL_KEY, role: 'member' });
    carol = await connectClient(gateway.mcpUrl, CAROL_KEY);
    await waitFor('the fixture tools', async () => (await listAllTools(carol)).some((tool) => tool.name === 'tools_write_note'), 30_000);
    await carol.callTool({ name: 'tools_write_note', arguments: { text: 'one' } });
    await carol.callTool({ name: 'tools_write_note', arguments: { text: 'two' } });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await carol?.close();
    await gateway?.close();
  });

  it('finds nothing serious on the sign-in pages', async () => {
    await page.goto(`${gateway.baseUrl}/admin/sign-in`);
    expect(await violations(page)).toEqual([]);
    await page.getByLabel('Email').fill(ALICE.email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Password').waitFor();
    expect(await violations(page)).toEqual([]);
  });

  it('finds nothing serious on any page of the dashboard', async () => {
    await signInToDashboard(page, gateway.baseUrl, ALICE, '/admin/o/acme/approvals');
    const pages: [string, string][] = [
      ['/admin/o/acme/overview', 'Overview'],
      ['/admin/o/acme/approvals', 'Approvals'],
      ['/admin/o/acme/connections', 'Connections'],
      ['/admin/o/acme/tool-changes', 'Tool changes'],
      ['/admin/o/acme/try?tool=tools_echo', 'Try a tool'],
      ['/admin/o/acme/workflows', 'Workflows'],
      ['/admin/o/acme/keys', 'Keys and grants'],
      ['/admin/o/acme/policies', 'Policies'],
      ['/admin/o/acme/members', 'Members'],
      ['/admin/o/acme/identity-provider', 'Identity provider'],
      ['/admin/o/acme/audit', 'Audit log'],
      ['/admin/o/acme/usage', 'Usage and budgets'],
    ];
    for (const [path, heading] of pages) {
      await page.goto(`${gateway.baseUrl}${path}`);
      await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
      await page.waitForLoadState('networkidle');
      expect({ path, violations: await violations(page) }).toEqual({ path, violations: [] });
    }
    // The history tab, and the deny dialog.
    await page.goto(`${gateway.baseUrl}/admin/o/acme/approvals`);
    await page.getByRole('article').first().waitFor();
    await page.getByRole('button', { name: 'Deny' }).first().click();
    await page.getByRole('dialog').waitFor();
    expect(await violations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await page.getByRole('tab', { name: 'History' }).click();
    expect(await violations(page)).toEqual([]);
  });

  it('says in words, with what to do, when the API or a page cannot be reached', async () => {
    const context = await browser.newContext({ storageState: await page.context().storageState() });
    const offline = await context.newPage();
    // A page's code (its chunk) that cannot be fetched, as after a deploy or on a dropped connection.
    await offline.route('**/admin/assets/Keys-*.js', (route) => route.abort('internetdisconnected'));
    await offline.goto(`${gateway.baseUrl}/admin/o/acme/approvals`);
    await offline.getByRole('link', { name: 'Keys and grants' }).click();
    await offline.getByRole('alert').getByText('This page could not be loaded').waitFor();
    await offline.getByRole('button', { name: 'Reload' }).waitFor();
    // The API gone: after its retries the inbox says so, and no spinner stays.
    await offline.route('**/api/v1/approvals*', (route) => route.abort('connectionrefused'));
    await offline.goto(`${gateway.baseUrl}/admin/o/acme/approvals`);
    await offline.getByRole('alert').getByText('Gatehouse cannot be reached', { exact: false }).waitFor({ timeout: 20_000 });
    await expect(offline.getByLabel('Loading', { exact: false }).count()).resolves.toBe(0);
    await context.close();
  });

  it('lets the inbox be used with the keyboard alone', async () => {
    await page.goto(`${gateway.baseUrl}/admin/o/acme/approvals`);
    const cards = page.getByRole('article', { name: 'tools_write_note' });
    await cards.first().waitFor();
    const before = await cards.count();
    // Tab until the first Approve button has the focus, then press Enter.
    for (let presses = 0; presses < 40; presses++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement?.textContent?.trim());
      if (focused === 'Approve') break;
    }
    await expect(page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement?.textContent?.trim())).resolves.toBe('Approve');
    await page.keyboard.press('Enter');
    await page.getByText('Approved: tools_write_note runs now.').waitFor();
    await waitFor('one request fewer in the inbox', async () => (await cards.count()) === before - 1, 10_000);
  });
});
