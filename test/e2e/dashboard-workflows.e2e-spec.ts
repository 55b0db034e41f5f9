import type { Browser, Page } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { csrfToken, launchChromium, openDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL = { email: 'carol@acme.test', password: 'carol-password-123' };
const ADMIN_KEY = 'ghk_test_dash_workflows_admin_0001';

const STANDUP = {
  name: 'daily-standup',
  description: "Lists the team's items and summarises them",
  inputs: { type: 'object', properties: { team: { type: 'string', description: 'Whose items' } }, required: ['team'] },
  steps: [
    { id: 'items', tool: 'tools_echo', arguments: { text: '{{ inputs.team }}: fix login; ship v2' } },
    { id: 'summary', tool: 'tools_echo', arguments: { text: 'Summary of {{ steps.items.structured.text }}' } },
  ],
};
const REPORT = { name: 'weekly-report', description: 'Summarises the week', steps: [{ id: 'report', tool: 'tools_echo', arguments: { text: 'week' } }] };

// The workflows page: definitions with their steps, a run started from a form generated from the input schema, the
// run's steps as they happen, and the history of runs (each member sees their own, admins all).
describe('dashboard: workflows', () => {
  let gateway: TestGateway;
  let browser: Browser;

  const workflowsPage = async (who: { email: string; password: string }): Promise<Page> => {
    const page = await openDashboard(browser, gateway.baseUrl, who, '/admin/o/acme/workflows');
    await page.getByRole('heading', { name: 'Workflows', level: 2 }).waitFor();
    await page.getByRole('article', { name: 'daily-standup' }).waitFor();
    return page;
  };
  const openRunForm = async (page: Page) => {
    await page.getByRole('article', { name: 'daily-standup' }).getByRole('button', { name: 'Run' }).click();
    await page.getByRole('form', { name: 'Inputs of daily-standup' }).waitFor();
  };
  // Starts daily-standup from its form and waits on the run's page until it has succeeded.
  const runStandup = async (page: Page, team: string, opened = false) => {
    if (!opened) await openRunForm(page);
    const form = page.getByRole('form', { name: 'Inputs of daily-standup' });
    await form.getByRole('textbox', { name: /^team/ }).fill(team);
    await form.getByRole('button', { name: 'Start run' }).click();
    await page.getByRole('heading', { name: 'Run of daily-standup' }).waitFor();
    await page.getByRole('status', { name: 'Status of the run' }).getByText('succeeded').waitFor({ timeout: 30_000 });
    return page.url().split('/').pop()!;
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
      - { name: admin, role: admin, secretEnv: ADMIN }
    connections:
      - ${fixtureStdioYaml('tools')}
`,
      vars: { ALICE_PASSWORD: ALICE.password, CAROL_PASSWORD: CAROL.password, ADMIN: ADMIN_KEY },
    });
    const client = await connectClient(gateway.mcpUrl, ADMIN_KEY);
    await waitFor('the fixture tools', async () => (await listAllTools(client)).some((tool) => tool.name === 'tools_echo'), 30_000);
    await client.close();
    for (const spec of [STANDUP, REPORT]) expect((await apiRequest(gateway.baseUrl, ADMIN_KEY, 'POST', '/api/v1/workflows', spec)).status).toBe(201);
    // As the config file's workflows will be marked: read-only here.
    await query(gateway.databaseUrl, `UPDATE workflows SET config_managed = true WHERE name = 'weekly-report'`);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('shows the definitions, runs one from its input form as the admin, and follows the run to succeeded step by step', async () => {
    const page = await workflowsPage(ALICE);
    const standup = page.getByRole('article', { name: 'daily-standup' });
    await standup.getByText("Lists the team's items and summarises them").waitFor();
    await standup.getByText('version 1').waitFor();
    const steps = standup.getByRole('list', { name: 'Steps of daily-standup' }).getByRole('listitem');
    expect(await steps.allTextContents()).toEqual(['items: tools_echo', 'summary: tools_echo']);
    await standup.getByText('Who may run it: owner, admin, member.').waitFor();
    const report = page.getByRole('article', { name: 'weekly-report' });
    await report.getByText('config file', { exact: true }).waitFor();
    await expect(report.getByRole('button', { name: 'Delete…' }).isDisabled()).resolves.toBe(true);
    await expect(standup.getByRole('button', { name: 'Delete…' }).isEnabled()).resolves.toBe(true);

    const runId = await runStandup(page, 'core');
    const items = page.getByRole('group', { name: 'Step items' });
    await items.getByText('succeeded').waitFor();
    // Its arguments as stored (references filled in), then its result.
    await expect(items.locator('pre').nth(0).textContent()).resolves.toBe(JSON.stringify({ text: 'core: fix login; ship v2' }, null, 2));
    await expect(items.locator('pre').nth(1).textContent()).resolves.toContain('echo: core: fix login; ship v2');
    await items.getByText(/took \d+ ms/).waitFor();
    const summary = page.getByRole('group', { name: 'Step summary' });
    await summary.getByText('succeeded').waitFor();
    await summary.getByText('echo: Summary of core: fix login; ship v2', { exact: false }).waitFor();

    const run = await apiRequest<{ status: string; startedBy: string; trigger: string; steps: { status: string; callId: string }[] }>(gateway.baseUrl, ADMIN_KEY, 'GET', `/api/v1/workflow-runs/${runId}`);
    expect(run.body).toMatchObject({ status: 'succeeded', startedBy: ALICE.email, trigger: 'dashboard' });
    expect(run.body.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded']);
    await expect(page.getByRole('button', { name: 'Cancel run…' }).count()).resolves.toBe(0);

    // A step's call, in the audit log's timeline of that call.
    await items.getByRole('link', { name: 'Timeline of the call in the audit log' }).click();
    await page.getByRole('heading', { name: `Call ${run.body.steps[0]!.callId}` }).waitFor();
    await page.getByText('Downstream outcome: ok').waitFor();
  });

  it('has no serious or critical accessibility violations on the list, the run form and the run', async () => {
    const page = await workflowsPage(ALICE);
    await page.getByRole('table', { name: 'Workflow runs' }).getByText('succeeded').first().waitFor();
    expect(await violations(page)).toEqual([]);
    await openRunForm(page);
    expect(await violations(page)).toEqual([]);
    await runStandup(page, 'axe', true);
    expect(await violations(page)).toEqual([]);
  });

  it('lets a member run a workflow but not change one, and shows them their own runs only', async () => {
    const page = await workflowsPage(CAROL);
    await expect(page.getByRole('button', { name: 'Delete…' }).count()).resolves.toBe(0);
    await runStandup(page, 'carol-team');
    await page.getByRole('link', { name: 'Back to the workflows' }).click();
    await page.getByRole('heading', { name: 'Your runs' }).waitFor();
    const rows = page.getByRole('table', { name: 'Workflow runs' }).getByRole('row');
    await rows.filter({ hasText: CAROL.email }).first().waitFor();
    expect(await rows.count()).toBe(2); // the header and Carol's run: not Alice's two
    await expect(rows.filter({ hasText: ALICE.email }).count()).resolves.toBe(0);
    // Nor the audit log's call timelines, which are for admins and auditors.
    await page.getByRole('link', { name: /^Run .* of daily-standup$/ }).click();
    await page.getByRole('group', { name: 'Step items' }).getByText('succeeded').waitFor();
    await expect(page.getByRole('link', { name: 'Timeline of the call in the audit log' }).count()).resolves.toBe(0);

    // Alice's history has all three, newest first.
    const alice = await workflowsPage(ALICE);
    const all = alice.getByRole('table', { name: 'Workflow runs' }).getByRole('row');
    await all.nth(3).waitFor();
    expect((await all.allTextContents()).slice(1).map((row) => (row.includes(CAROL.email) ? 'carol' : 'alice'))).toEqual(['carol', 'alice', 'alice']);
  });

  it("refuses a session's changes to workflows without the CSRF token, and a member's with it", async () => {
    const attempt = async (page: Page, method: 'post' | 'put', path: string, body: unknown, withToken: boolean) =>
      page.context().request[method](`${gateway.baseUrl}${path}`, {
        headers: { 'Gatehouse-Organization': 'acme', ...(withToken ? { 'X-CSRF-Token': await csrfToken(page) } : {}) },
        data: body,
      });
    const admin = await workflowsPage(ALICE);
    const forged = await attempt(admin, 'post', '/api/v1/workflows', { ...STANDUP, name: 'forged' }, false);
    expect(forged.status()).toBe(403);
    expect(((await forged.json()) as { detail: string }).detail).toContain('CSRF token');
    expect((await attempt(admin, 'put', '/api/v1/workflows/daily-standup', { ...STANDUP, description: 'forged' }, false)).status()).toBe(403);
    expect((await attempt(admin, 'post', '/api/v1/workflows/daily-standup/runs', { inputs: { team: 'forged' } }, false)).status()).toBe(403);
    const member = await workflowsPage(CAROL);
    expect((await attempt(member, 'post', '/api/v1/workflows', { ...STANDUP, name: 'mine' }, true)).status()).toBe(403);
    expect((await attempt(member, 'put', '/api/v1/workflows/daily-standup', STANDUP, true)).status()).toBe(403);
    // Nothing changed.
    const stored = await query<{ name: string; description: string }>(gateway.databaseUrl, `SELECT name, definition->>'description' AS description FROM workflows ORDER BY name`);
    expect(stored).toEqual([
      { name: 'daily-standup', description: STANDUP.description },
      { name: 'weekly-report', description: REPORT.description },
    ]);
    expect(await query(gateway.databaseUrl, `SELECT 1 FROM workflow_runs WHERE inputs->>'team' = 'forged'`)).toHaveLength(0);
    await Promise.all([admin.close(), member.close()]);
  });
});
