import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { csrfToken, launchChromium, openDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { insertMember, insertPersonalKey } from '../support/personal-key';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CONNIE = { email: 'connie@acme.test', password: 'connie-password-12' };
const ERIN = { email: 'erin@acme.test', password: 'erin-password-1234' };
const KEYS = {
  alice: 'ghk_test_dash_roles_alice_key_01',
  connie: 'ghk_test_dash_roles_connie_key01',
  erin: 'ghk_test_dash_roles_erin_key_001',
  bob: 'ghk_test_dash_roles_bob_key_0001',
};

// What each role sees and may do, from a signed-in browser: the navigation mirrors the server's abilities, and the
// server refuses what the role may not do whatever the browser sends.
describe('dashboard: contractor and auditor', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let pendingId: string;
  const clients: Client[] = [];
  const connect = async (token: string) => {
    const client = await connectClient(gateway.mcpUrl, token);
    clients.push(client);
    return client;
  };
  const navigation = async (page: Page) => (await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').allTextContents()).map((text) => text.trim());
  const asSession = (page: Page) => ({
    get: (path: string) => page.context().request.get(`${gateway.baseUrl}${path}`, { headers: { 'Gatehouse-Organization': 'acme' } }),
    change: async (method: 'post' | 'put' | 'delete', path: string, body: unknown, withToken = true) =>
      page.context().request[method](`${gateway.baseUrl}${path}`, {
        headers: { 'Gatehouse-Organization': 'acme', ...(withToken ? { 'X-CSRF-Token': await csrfToken(page) } : {}) },
        data: body,
      }),
  });

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${CONNIE.email}, role: contractor, passwordEnv: CONNIE_PASSWORD }
      - { email: ${ERIN.email}, role: auditor, passwordEnv: ERIN_PASSWORD }
    connections:
      - ${fixtureStdioYaml('tools')}
    policies:
      - name: notes-need-approval
        match: { tools: [tools_write_note] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
`,
      vars: { ALICE_PASSWORD: ALICE.password, CONNIE_PASSWORD: CONNIE.password, ERIN_PASSWORD: ERIN.password },
    });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: ALICE.email, secret: KEYS.alice, role: 'admin' });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: CONNIE.email, secret: KEYS.connie, role: 'contractor' });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: ERIN.email, secret: KEYS.erin, role: 'auditor' });
    const connie = await connect(KEYS.connie);
    await waitFor('the fixture tools', async () => (await listAllTools(connie)).some((tool) => tool.name === 'tools_write_note'), 30_000);
    pendingId = /Request ([0-9a-f-]{36}) sent to/.exec(textOf(await connie.callTool({ name: 'tools_write_note', arguments: { text: 'by the contractor' } })))?.[1] ?? '';
    expect(pendingId).not.toBe('');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
  });

  describe('a contractor', () => {
    let page: Page;
    beforeAll(async () => {
      page = await openDashboard(browser, gateway.baseUrl, CONNIE);
      await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    });

    it('sees their own pages and request, and no page of administration or of the record', async () => {
      expect(await navigation(page)).toEqual(['Approvals', 'Connections', 'Tool changes', 'Try a tool', 'Workflows', 'Keys and grants']);
      const card = page.getByRole('article', { name: 'tools_write_note' });
      await card.getByText('asked by connie@acme.test', { exact: false }).waitFor();
      await expect(card.getByRole('button', { name: 'Approve' }).isDisabled()).resolves.toBe(true);
    });

    it('gets 403 from admin-only endpoints, with or without the CSRF token, and nothing changes', async () => {
      const session = asSession(page);
      for (const path of ['/api/v1/members', '/api/v1/audit/records', '/api/v1/usage', '/api/v1/policies', '/api/v1/overview']) {
        expect([path, (await session.get(path)).status()]).toEqual([path, 403]);
      }
      const forged = await session.change('put', '/api/v1/policies', { defaultEffect: 'allow', rules: [] });
      expect(forged.status()).toBe(403);
      const noToken = await session.change('post', '/api/v1/api-keys', { name: 'sneaky', role: 'contractor', access: 'read_write' }, false);
      expect(noToken.status()).toBe(403);
      expect(((await noToken.json()) as { detail: string }).detail).toContain('CSRF token');
      const ownApproval = await session.change('post', `/api/v1/approvals/${pendingId}/approve`, {});
      expect(ownApproval.status()).toBe(403);
      expect((await apiRequest<{ status: string }>(gateway.baseUrl, KEYS.alice, 'GET', `/api/v1/approvals/${pendingId}`)).body.status).toBe('pending');
    });
  });

  describe('an auditor', () => {
    let page: Page;
    beforeAll(async () => {
      // Auditors land on the overview, then read the approval requests.
      page = await openDashboard(browser, gateway.baseUrl, ERIN);
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Approvals' }).click();
      await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    });

    it('sees the approval requests and their history, but no button decides one, and the page says why', async () => {
      expect(await navigation(page)).toEqual(['Overview', 'Approvals', 'Workflows', 'Keys and grants', 'Audit log', 'Usage and budgets']);
      const card = page.getByRole('article', { name: 'tools_write_note' });
      await card.getByText('asked by connie@acme.test', { exact: false }).waitFor();
      await expect(card.getByRole('button', { name: 'Approve' }).isDisabled()).resolves.toBe(true);
      await card.getByText('Auditors read approval requests and their history; they do not decide them').waitFor();
    });

    it('reads the audit log and its sinks, usage and budgets, and gets 403 for connections, members, policies and every change', async () => {
      const session = asSession(page);
      for (const path of ['/api/v1/audit/records', '/api/v1/audit/verify', '/api/v1/audit/sinks', '/api/v1/usage', '/api/v1/budgets', '/api/v1/approvals', '/api/v1/overview']) {
        expect([path, (await session.get(path)).status()]).toEqual([path, 200]);
      }
      for (const path of ['/api/v1/connections', '/api/v1/members', '/api/v1/policies', '/api/v1/tool-changes']) {
        expect([path, (await session.get(path)).status()]).toEqual([path, 403]);
      }
      const decide = await session.change('post', `/api/v1/approvals/${pendingId}/approve`, {});
      expect(decide.status()).toBe(403);
      for (const [method, path, body] of [['put', '/api/v1/budgets', { budgets: [] }], ['put', '/api/v1/audit/settings', { level: 'metadata' }]] as const) {
        expect([path, (await session.change(method, path, body)).status()]).toEqual([path, 403]);
      }
      const noToken = await session.change('post', `/api/v1/approvals/${pendingId}/deny`, {}, false);
      expect(noToken.status()).toBe(403);
      expect(((await noToken.json()) as { detail: string }).detail).toContain('CSRF token');
      expect((await apiRequest<{ status: string }>(gateway.baseUrl, KEYS.alice, 'GET', `/api/v1/approvals/${pendingId}`)).body.status).toBe('pending');
    });

    it('opens the audit log, finds the contractor\'s held call and verifies the chain', async () => {
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      const records = page.getByRole('table', { name: 'Audit records' });
      await records.getByText('approval.requested').first().waitFor();
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await page.getByText('Chain verified').waitFor();
      expect(await violations(page)).toEqual([]);
    });

    it('calls no tools through /mcp, whatever the policy allows', async () => {
      const erin = await connect(KEYS.erin);
      expect(await listAllTools(erin)).toEqual([]);
      const refused = await erin.callTool({ name: 'tools_echo', arguments: { text: 'hi' } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain('auditors read the audit log, usage and approvals; they call no tools');
    });
  });

  it("stops a member's key when an admin makes them an auditor: the two roles share nothing", async () => {
    const bobId = await insertMember(gateway.databaseUrl, { organization: 'acme', email: 'bob@acme.test', password: 'bob-password-12345', role: 'member' });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: 'bob@acme.test', secret: KEYS.bob, role: 'member' });
    expect((await apiRequest(gateway.baseUrl, KEYS.bob, 'GET', '/api/v1/approvals')).status).toBe(200);
    const changed = await apiRequest<{ role: string }>(gateway.baseUrl, KEYS.alice, 'PUT', `/api/v1/members/${bobId}`, { role: 'auditor' });
    expect([changed.status, changed.body.role]).toEqual([200, 'auditor']);
    expect((await apiRequest(gateway.baseUrl, KEYS.bob, 'GET', '/api/v1/approvals')).status).toBe(401);
  });
});
