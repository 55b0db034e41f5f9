import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { launchChromium, openDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { TEST_PLATFORM } from '../support/platform';
import { fixtureStdioYaml, RunningServer, startFixtureHttp } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL = { email: 'carol@acme.test', password: 'carol-password-123' };
const MEMBER_KEY = 'ghk_test_dash_connections_member1';
const OTHER_KEY = 'ghk_test_dash_connections_other01';

// The connections page in real Chromium: the list, a connection's detail and tools, Test, Refresh, Disable/Enable
// (seen by an MCP client), the form (validation, test before saving), Delete, and a config-file connection's edit.
describe('dashboard: connections', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let client: Client;
  let web: RunningServer;
  // Counts every TCP connection made to it: the egress refusals must send it nothing.
  let canary: Server;
  let canaryHits = 0;
  let fixtureId: string;

  const tools = async () => (await listAllTools(client)).map((tool) => tool.name);
  const page = async (who = ALICE, path = '/admin/o/acme/connections'): Promise<Page> => openDashboard(browser, gateway.baseUrl, who, path);

  beforeAll(async () => {
    web = await startFixtureHttp();
    canary = createServer((_request, response) => response.end('{}'));
    canary.on('connection', () => canaryHits++);
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${CAROL.email}, role: member, passwordEnv: CAROL_PASSWORD }
    apiKeys:
      - { name: member, role: member, secretEnv: MEMBER_KEY }
    connections:
      - ${fixtureStdioYaml('fixture')}
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER_KEY }
`,
      vars: { ALICE_PASSWORD: ALICE.password, CAROL_PASSWORD: CAROL.password, MEMBER_KEY, OTHER_KEY },
      // Loopback by name only: the form's server is reached as localhost, while 127.0.0.1 stays refused.
      platform: { ...TEST_PLATFORM, egress: { allow: ['localhost'] } },
    });
    client = await connectClient(gateway.mcpUrl, MEMBER_KEY);
    await waitFor('the fixture tools', async () => (await tools()).includes('fixture_echo'), 30_000);
    const list = await apiRequest<{ id: string; name: string }[]>(gateway.baseUrl, MEMBER_KEY, 'GET', '/api/v1/connections');
    fixtureId = list.body.find((connection) => connection.name === 'fixture')!.id;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await client?.close();
    await gateway?.close();
    await web?.stop();
    await new Promise((resolve) => canary?.close(resolve));
  });

  it('lists connections with status and tools, and shows a config-file connection read-only with its YAML', async () => {
    const admin = await page();
    const row = admin.getByRole('row', { name: /fixture/ });
    await row.getByText('connected').waitFor();
    expect(Number(await row.getByRole('cell').nth(4).textContent())).toBeGreaterThanOrEqual(4);
    expect(await violations(admin)).toEqual([]);

    await row.getByRole('link', { name: 'fixture' }).click();
    await admin.getByRole('heading', { name: 'fixture', level: 2 }).waitFor();
    const table = admin.getByRole('table', { name: 'Tools of fixture' });
    const echo = table.getByRole('row', { name: /fixture_echo/ });
    await echo.waitFor();
    await expect(echo.getByRole('cell').nth(1).textContent()).resolves.toBe('echo');
    await expect(echo.getByRole('cell').nth(4).textContent()).resolves.toBe('accepted');
    await admin.getByText('Managed by the config file').waitFor();
    await expect(admin.getByRole('button', { name: 'Disable' }).isDisabled()).resolves.toBe(true);
    await expect(admin.getByRole('button', { name: 'Delete' }).isDisabled()).resolves.toBe(true);
    expect(await violations(admin)).toEqual([]);

    await admin.getByRole('button', { name: 'Test' }).click();
    await admin.getByText('The test succeeded').waitFor();
    await admin.getByText(/it lists \d+ tools: .*echo/).waitFor();
    await admin.getByRole('button', { name: 'Refresh tools' }).click();
    await admin.getByText(/Tools refreshed: \d+ listed\./).waitFor();

    await admin.getByRole('link', { name: 'Edit' }).click();
    const yaml = admin.getByLabel('Config file entry of fixture');
    await yaml.waitFor();
    expect(await yaml.textContent()).toContain('name: "fixture"');
    await admin.getByText(/cannot be edited, disabled or deleted here/).waitFor();
    await admin.context().close();
  });

  it('creates an HTTP connection through the form: a bad URL is explained, Test stores nothing, Save does', async () => {
    const admin = await page(ALICE, '/admin/o/acme/connections/new');
    await admin.getByRole('heading', { name: 'New connection' }).waitFor();
    expect(await violations(admin)).toEqual([]);
    await admin.getByLabel('Name', { exact: false }).first().fill('web');
    await admin.getByRole('textbox', { name: 'URL' }).fill('not a url');
    await admin.getByRole('button', { name: 'Save' }).click();
    const refused = admin.getByRole('alert').filter({ hasText: 'The connection was not saved' });
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/url: /);

    const url = web.url.replace('127.0.0.1', 'localhost');
    await admin.getByRole('textbox', { name: 'URL' }).fill(url);
    await admin.getByRole('button', { name: 'Test before saving' }).click();
    await admin.getByText('The test succeeded').waitFor();
    const before = await apiRequest<{ name: string }[]>(gateway.baseUrl, MEMBER_KEY, 'GET', '/api/v1/connections');
    expect(before.body.map((connection) => connection.name)).not.toContain('web');

    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: 'web', level: 2 }).waitFor();
    await waitFor('web_echo to be listed', async () => (await tools()).includes('web_echo'), 30_000);
    await admin.context().close();
  });

  it('disables and enables a connection (its tools leave and return), then deletes it', async () => {
    const admin = await page();
    await admin.getByRole('link', { name: 'web' }).click();
    await admin.getByRole('heading', { name: 'web', level: 2 }).waitFor();

    await admin.getByRole('button', { name: 'Disable' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Disable web?' });
    await dialog.getByRole('button', { name: 'Disable' }).click();
    await admin.getByText('web is disabled.').waitFor();
    await waitFor('web_echo to disappear', async () => !(await tools()).includes('web_echo'), 30_000);

    await admin.getByRole('button', { name: 'Enable' }).click();
    await admin.getByText(/web is enabled/).waitFor();
    await waitFor('web_echo to return', async () => (await tools()).includes('web_echo'), 30_000);

    await admin.getByRole('button', { name: 'Delete' }).click();
    await admin.getByRole('dialog', { name: 'Delete web?' }).getByRole('button', { name: 'Delete' }).click();
    await admin.getByRole('heading', { name: 'Connections' }).waitFor();
    await admin.getByText('web is deleted.').waitFor();
    const after = await apiRequest<{ name: string }[]>(gateway.baseUrl, MEMBER_KEY, 'GET', '/api/v1/connections');
    expect(after.body.map((connection) => connection.name)).toEqual(['fixture']);
    await waitFor('web_echo to be gone', async () => !(await tools()).includes('web_echo'), 30_000);
    await admin.context().close();
  });

  describe('attacks', () => {
    const call = <T>(key: string, method: string, path: string, body?: unknown) => apiRequest<T & { detail: string }>(gateway.baseUrl, key, method, path, body);

    it("keeps another organization out of this one's connections (404)", async () => {
      for (const [method, path] of [
        ['GET', `/api/v1/connections/${fixtureId}`],
        ['GET', `/api/v1/connections/${fixtureId}/tools`],
        ['POST', `/api/v1/connections/${fixtureId}/disable`],
        ['POST', `/api/v1/connections/${fixtureId}/enable`],
        ['POST', `/api/v1/connections/${fixtureId}/test`],
      ] as const) {
        expect({ method, path, status: (await call(OTHER_KEY, method, path)).status }).toEqual({ method, path, status: 404 });
      }
    });

    it('lets a member neither enable, disable nor test before saving (403)', async () => {
      const spec = { name: 'probe', transport: 'http', url: web.url.replace('127.0.0.1', 'localhost') };
      for (const [method, path, body] of [
        ['POST', `/api/v1/connections/${fixtureId}/disable`, undefined],
        ['POST', `/api/v1/connections/${fixtureId}/enable`, undefined],
        ['POST', '/api/v1/connections/test', spec],
      ] as const) {
        expect({ path, status: (await call(MEMBER_KEY, method, path, body)).status }).toEqual({ path, status: 403 });
      }
    });

    it('answers a config-file connection with 409 saying where to change it', async () => {
      const admin = await page();
      const token = await csrfToken(admin);
      const refused = await admin.context().request.post(`${gateway.baseUrl}/api/v1/connections/${fixtureId}/disable`, { headers: { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': token } });
      expect(refused.status()).toBe(409);
      expect(((await refused.json()) as { detail: string }).detail).toContain('managed by the config file');
      await admin.context().close();
    });

    it('tests before saving only what saving would admit: no packet to forbidden hosts, no command off the list', async () => {
      const port = (canary.address() as AddressInfo).port;
      for (const url of [`http://127.0.0.1:${port}/mcp`, 'http://169.254.169.254/latest/meta-data/']) {
        const reply = await viaSession('POST', '/api/v1/connections/test', { name: 'probe', transport: 'http', url });
        expect({ url, status: reply.status }).toEqual({ url, status: 403 });
        expect(reply.detail).toMatch(/(loopback|link-local) address.*platform\.egress\.allow/);
      }
      const stdio = await viaSession('POST', '/api/v1/connections/test', { name: 'probe', transport: 'stdio', command: '/bin/sh', args: ['-c', 'id'] });
      expect(stdio.status).toBe(403);
      expect(stdio.detail).toContain('platform.stdio.commands');
      const invalid = await viaSession('POST', '/api/v1/connections/test', { name: 'probe', transport: 'http', url: 'ftp://example.com' });
      expect(invalid.status).toBe(400);
      expect(canaryHits).toBe(0);
    });

    it('refuses a change through the session without the CSRF token', async () => {
      const admin = await page();
      const refused = await admin.context().request.post(`${gateway.baseUrl}/api/v1/connections/${fixtureId}/test`, { headers: { 'Gatehouse-Organization': 'acme' } });
      expect(refused.status()).toBe(403);
      expect(((await refused.json()) as { detail: string }).detail).toContain('CSRF token');
      await admin.context().close();
    });

    // An organization admin's own session, as the dashboard sends it.
    async function viaSession(method: string, path: string, body: unknown): Promise<{ status: number; detail: string }> {
      const admin = await page();
      const response = await admin.context().request.fetch(`${gateway.baseUrl}${path}`, {
        method,
        headers: { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': await csrfToken(admin) },
        data: body,
      });
      const reply = { status: response.status(), detail: ((await response.json()) as { detail: string }).detail };
      await admin.context().close();
      return reply;
    }
  });
});

async function csrfToken(page: Page): Promise<string> {
  const session = await page.context().request.get(new URL('/api/v1/session', page.url()).href);
  return ((await session.json()) as { csrfToken: string }).csrfToken;
}
