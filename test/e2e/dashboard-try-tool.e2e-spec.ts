import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { csrfToken, launchChromium, openDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { insertPersonalKey } from '../support/personal-key';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL = { email: 'carol@acme.test', password: 'carol-password-123' };
const ERIN = { email: 'erin@acme.test', password: 'erin-password-1234' };
const KEYS = { alice: 'ghk_test_dash_try_alice_key_0001', other: 'ghk_test_dash_try_other_key_0001' };

interface AuditRecord {
  kind: string;
  outcome: string | null;
  actor: { type: string; name?: string; user?: { email: string } };
  target: { tool?: string } | null;
  callId: string | null;
}

// Try a tool: a person calls a tool from a form generated from its input schema, as themselves, through the whole
// pipeline: the policy decides, approvals hold, and the audit log records the call as theirs.
describe('dashboard: try a tool', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let marker: string;

  const calls = (tool: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === `call:${tool}`).length : 0);
  const tryPage = async (who: { email: string; password: string }, tool?: string): Promise<Page> => {
    const page = await openDashboard(browser, gateway.baseUrl, who, `/admin/o/acme/try${tool ? `?tool=${tool}` : ''}`);
    await page.getByRole('heading', { name: 'Try a tool' }).waitFor();
    return page;
  };
  const session = async (page: Page, body: unknown, withToken = true) =>
    page.context().request.post(`${gateway.baseUrl}/api/v1/tools/call`, {
      headers: { 'Gatehouse-Organization': 'acme', ...(withToken ? { 'X-CSRF-Token': await csrfToken(page) } : {}) },
      data: body,
    });

  beforeAll(async () => {
    marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-try-')), 'marks');
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${CAROL.email}, role: member, passwordEnv: CAROL_PASSWORD }
      - { email: ${ERIN.email}, role: auditor, passwordEnv: ERIN_PASSWORD }
    connections:
      - ${fixtureStdioYaml('tools', { FIXTURE_MARKER: marker })}
    policies:
      - name: notes-need-approval
        match: { tools: [tools_write_note] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
      - name: members-no-count
        description: members do not count
        match: { roles: [member], tools: [tools_count] }
        effect: deny
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER }
`,
      vars: { ALICE_PASSWORD: ALICE.password, CAROL_PASSWORD: CAROL.password, ERIN_PASSWORD: ERIN.password, OTHER: KEYS.other },
    });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: ALICE.email, secret: KEYS.alice, role: 'admin' });
    const client = await connectClient(gateway.mcpUrl, KEYS.alice);
    await waitFor('the fixture tools', async () => (await listAllTools(client)).some((tool) => tool.name === 'tools_echo'), 30_000);
    await client.close();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it("runs echo from the form as the admin, and the audit log records the call as theirs", async () => {
    const page = await tryPage(ALICE);
    await page.getByRole('combobox', { name: 'Tool' }).click();
    await page.getByRole('option', { name: 'tools_echo' }).click();
    await page.getByText('Echoes text').waitFor();
    await page.getByRole('textbox', { name: /^text/ }).fill('hello from the form');
    await page.getByRole('button', { name: 'Run' }).click();
    const result = page.getByRole('region', { name: 'Result' });
    await result.getByText('echo: hello from the form').waitFor();
    expect(page.url()).toContain('?tool=tools_echo');
    expect(calls('echo')).toBe(1);

    const records = await waitFor('the call in the audit log', async () => {
      const reply = await apiRequest<{ items: AuditRecord[] }>(gateway.baseUrl, KEYS.alice, 'GET', '/api/v1/audit/records?tool=tools_echo&kind=tools.call.*');
      return reply.body.items.length === 2 ? reply.body.items : undefined;
    }, 10_000);
    for (const record of records) {
      expect(record.actor).toMatchObject({ type: 'user', name: ALICE.email });
      expect(record.target).toMatchObject({ tool: 'tools_echo' });
    }
    expect(records.map((record) => [record.kind, record.outcome]).sort()).toEqual([
      ['tools.call.outcome', 'ok'],
      ['tools.call.request', null],
    ]);
    expect(new Set(records.map((record) => record.callId)).size).toBe(1);

    // And the audit page says so: the call, by the admin, on the filter the URL carries.
    await page.goto(`${gateway.baseUrl}/admin/o/acme/audit?tool=tools_echo&kind=tools.call.outcome`);
    const row = page.getByRole('table', { name: 'Audit records' }).getByRole('row').filter({ hasText: 'tools.call.outcome' });
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    await expect(row.getByRole('cell', { name: ALICE.email }).isVisible()).resolves.toBe(true);
    await expect(row.getByRole('cell', { name: 'ok', exact: true }).isVisible()).resolves.toBe(true);
  });

  it('holds a call a rule requires approval for, and says so', async () => {
    const page = await tryPage(ALICE, 'tools_write_note');
    await page.getByRole('textbox', { name: /^text/ }).fill('needs a yes');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('alert').getByText('Approval required. Request', { exact: false }).waitFor();
    expect(calls('write_note')).toBe(0);
    const pending = await apiRequest<unknown[]>(gateway.baseUrl, KEYS.alice, 'GET', '/api/v1/approvals?status=pending');
    expect(pending.body).toEqual([expect.objectContaining({ tool: 'tools_write_note', requester: ALICE.email, arguments: { text: 'needs a yes' } })]);
  });

  it("refuses a member what the policy refuses them, naming the rule, and says what is wrong with bad arguments", async () => {
    const page = await tryPage(CAROL, 'tools_count');
    await expect(page.getByRole('combobox', { name: 'Tool' }).inputValue()).resolves.toBe('');
    // The policy hides the tool from the member's list; a forged call is refused by the same rule.
    const forged = await session(page, { name: 'tools_count', arguments: {} });
    expect(forged.status()).toBe(200);
    expect(await forged.json()).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringContaining('members do not count') }] });
    const invalid = await session(page, { name: 'tools_echo', arguments: { text: 42 } });
    expect(await invalid.json()).toMatchObject({ isError: true, content: [{ text: expect.stringContaining('Invalid arguments for "tools_echo"') }] });
    expect(calls('count')).toBe(0);
  });

  it('refuses the CSRF-less, the auditor, another organization and hostile input, in words', async () => {
    const carol = await tryPage(CAROL);
    const noToken = await session(carol, { name: 'tools_echo', arguments: { text: 'x' } }, false);
    expect(noToken.status()).toBe(403);

    const erin = await openDashboard(browser, gateway.baseUrl, ERIN);
    expect((await session(erin, { name: 'tools_echo', arguments: { text: 'x' } })).status()).toBe(403);
    expect((await erin.context().request.get(`${gateway.baseUrl}/api/v1/tools`, { headers: { 'Gatehouse-Organization': 'acme' } })).status()).toBe(403);

    // Another organization's admin: this organization's tools do not exist for them.
    const other = await apiRequest<{ detail: string }>(gateway.baseUrl, KEYS.other, 'POST', '/api/v1/tools/call', { name: 'tools_echo', arguments: { text: 'x' } });
    expect(other.status).toBe(400);
    expect(other.body.detail).toContain('Unknown tool "tools_echo"');
    expect((await apiRequest<unknown[]>(gateway.baseUrl, KEYS.other, 'GET', '/api/v1/tools')).body).not.toContainEqual(expect.objectContaining({ name: 'tools_echo' }));

    for (const body of [{ name: '', arguments: {} }, { name: 'tools_echo', arguments: 'text' }, { name: 'tools_echo', arguments: {}, extra: 1 }]) {
      const refused = await apiRequest<{ status: number; detail: string }>(gateway.baseUrl, KEYS.alice, 'POST', '/api/v1/tools/call', body);
      expect([refused.status, refused.contentType]).toEqual([400, expect.stringContaining('application/problem+json')]);
    }
    const huge = await apiRequest(gateway.baseUrl, KEYS.alice, 'POST', '/api/v1/tools/call', { name: 'tools_echo', arguments: { text: 'x'.repeat(8 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    expect(calls('echo')).toBe(1);
  });

  it('has no serious or critical accessibility violations, with a form and a result', async () => {
    const page = await tryPage(ALICE, 'tools_echo');
    await page.getByRole('textbox', { name: /^text/ }).fill('axe');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('region', { name: 'Result' }).getByText('echo: axe').waitFor();
    expect(await violations(page)).toEqual([]);
  });
});
