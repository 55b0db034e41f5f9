import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { launchChromium, openDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL = { email: 'carol@acme.test', password: 'carol-password-123' };
const ERIN = { email: 'erin@acme.test', password: 'erin-password-1234' };
const KEYS = { admin: 'ghk_test_dash_overview_admin_001', member: 'ghk_test_dash_overview_member_01', other: 'ghk_test_dash_overview_other_001' };
const SINK_TOKEN = 'hec-token-overview-never-shown-0001';

interface Overview {
  calls: { total: number; outcomes: Record<string, number>; hours: { total: number }[]; latency: { p50Ms: number | null; p95Ms: number | null } };
  approvals: { pending: number } | null;
  budgets: { scope: string; limitUsd: number; current: { spentUsd: number } }[] | null;
  connections: { total: number; unhealthy: unknown[]; heldBackTools: number } | null;
  sinks: { total: number; deadLetter: number };
  chain: { chainedUpTo: number; unchained: number; checkpoint: unknown };
}

// The landing page in real Chromium: calls that end ok, denied and held for approval, a tool held back for review,
// then the tiles' numbers, the chart's table, a tile's link, and what other organizations and roles get.
describe('dashboard: overview', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let client: Client;

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${CAROL.email}, role: member, passwordEnv: CAROL_PASSWORD }
      - { email: ${ERIN.email}, role: auditor, passwordEnv: ERIN_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
      - { name: member, role: member, secretEnv: MEMBER_KEY }
    connections:
      - ${fixtureStdioYaml('fixture', { FIXTURE_STATE: join(mkdtempSync(join(tmpdir(), 'gatehouse-dash-overview-')), 'state.json') })}
    costs:
      - { connection: fixture, perCallUsd: 0.25 }
    budgets:
      - { scope: organization, period: month, limitUsd: 10 }
    auditSinks:
      - { name: splunk, type: splunk_hec, url: "https://siem.example.com/services/collector", tokenEnv: SINK_TOKEN, enabled: false }
    policies:
      - name: notes-need-approval
        match: { tools: [fixture_write_note] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
      - name: members-no-count
        match: { roles: [member], tools: [fixture_count] }
        effect: deny
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER_KEY }
`,
      vars: {
        ALICE_PASSWORD: ALICE.password,
        CAROL_PASSWORD: CAROL.password,
        ERIN_PASSWORD: ERIN.password,
        ADMIN_KEY: KEYS.admin,
        MEMBER_KEY: KEYS.member,
        OTHER_KEY: KEYS.other,
        SINK_TOKEN,
      },
    });
    client = await connectClient(gateway.mcpUrl, KEYS.member);
    await waitFor('the fixture tools', async () => (await listAllTools(client)).some((tool) => tool.name === 'fixture_echo'), 30_000);
    expect(textOf(await client.callTool({ name: 'fixture_echo', arguments: { text: 'one' } }))).toBe('echo: one');
    expect(textOf(await client.callTool({ name: 'fixture_echo', arguments: { text: 'two' } }))).toBe('echo: two');
    expect((await client.callTool({ name: 'fixture_count', arguments: {} })).isError).toBe(true);
    expect((await client.callTool({ name: 'fixture_write_note', arguments: { text: 'held' } })).isError).toBe(true);
    // A changed definition is held back until an admin accepts it.
    expect(textOf(await client.callTool({ name: 'fixture_rewrite_description', arguments: { name: 'slow', description: 'Changed' } }))).toBe('rewrote slow');
    await waitFor('fixture_slow to be held back', async () => !(await listAllTools(client)).some((tool) => tool.name === 'fixture_slow'), 30_000);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await client?.close();
    await gateway?.close();
  });

  it('answers admins with every section, computed from the records', async () => {
    const { status, body } = await apiRequest<Overview>(gateway.baseUrl, KEYS.admin, 'GET', '/api/v1/overview');
    expect(status).toBe(200);
    expect(body.calls.outcomes).toEqual({ ok: 3, denied: 1, approval_required: 1 });
    expect(body.calls.total).toBe(5);
    expect(body.calls.hours).toHaveLength(24);
    expect(body.calls.hours.reduce((sum, hour) => sum + hour.total, 0)).toBe(5);
    expect(body.calls.latency.p50Ms).toEqual(expect.any(Number));
    expect(body.calls.latency.p95Ms).toBeGreaterThanOrEqual(body.calls.latency.p50Ms!);
    expect(body.approvals).toEqual({ pending: 1 });
    expect(body.connections).toEqual({ total: 1, unhealthy: [], heldBackTools: 1 });
    expect(body.budgets).toEqual([expect.objectContaining({ scope: 'organization', limitUsd: 10, current: expect.objectContaining({ spentUsd: 0.75 }) })]);
    expect(body.sinks).toEqual(expect.objectContaining({ total: 1, deadLetter: 0 }));
    expect(body.chain.chainedUpTo + body.chain.unchained).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toContain(SINK_TOKEN);
    expect(JSON.stringify(body)).not.toContain(KEYS.member);
  });

  it('shows the tiles and the chart to an admin landing on /admin/, with a link to each page', async () => {
    const page = await openDashboard(browser, gateway.baseUrl, ALICE);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/o/acme/overview');
    const tile = (name: string) => page.getByRole('region', { name });
    await tile('Calls in the last 24 h').getByText('3 ok, 1 approval required, 1 denied').waitFor();
    await tile('Pending approvals').getByText('1', { exact: true }).waitFor();
    await tile('Tools held back').getByText('1', { exact: true }).waitFor();
    await tile('Unhealthy connections').getByText('0 of 1').waitFor();
    await tile('Latency').getByText(/^p50 [\d.,]+ ms$/).waitFor();
    await tile('Spend this period').getByText('$0.75 of $10.00').waitFor();
    // The chart's numbers, for screen readers: one row for the hour of the calls.
    const table = page.getByRole('table', { name: 'Calls per hour by outcome' });
    await expect(table.getByRole('row').count()).resolves.toBeGreaterThanOrEqual(2);
    expect(await violations(page)).toEqual([]);

    await tile('Pending approvals').getByRole('link', { name: 'Pending approvals' }).click();
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/o/acme/approvals');
    await page.context().close();
  });

  it('gives an auditor the record without connections, and a member 403', async () => {
    const auditor = await openDashboard(browser, gateway.baseUrl, ERIN);
    await auditor.getByRole('heading', { name: 'Overview' }).waitFor();
    await auditor.getByRole('region', { name: 'Pending approvals' }).waitFor();
    await expect(auditor.getByRole('region', { name: 'Unhealthy connections' }).count()).resolves.toBe(0);
    const seen = await auditor.context().request.get(`${gateway.baseUrl}/api/v1/overview`, { headers: { 'Gatehouse-Organization': 'acme' } });
    const body = (await seen.json()) as Overview;
    expect([body.calls.total, body.approvals, body.connections]).toEqual([5, { pending: 1 }, null]);
    await auditor.context().close();

    // Members and contractors land on their inbox, and the overview is not theirs.
    const member = await openDashboard(browser, gateway.baseUrl, CAROL);
    await member.getByRole('heading', { name: 'Approvals' }).waitFor();
    const refused = await member.context().request.get(`${gateway.baseUrl}/api/v1/overview`, { headers: { 'Gatehouse-Organization': 'acme' } });
    expect(refused.status()).toBe(403);
    await member.context().close();
    expect((await apiRequest(gateway.baseUrl, KEYS.member, 'GET', '/api/v1/overview')).status).toBe(403);
  });

  it("shows another organization only its own numbers, and refuses hostile input as a problem", async () => {
    const { status, body } = await apiRequest<Overview>(gateway.baseUrl, KEYS.other, 'GET', '/api/v1/overview');
    expect(status).toBe(200);
    expect(body.calls.total).toBe(0);
    expect(body.calls.latency).toEqual({ p50Ms: null, p95Ms: null });
    expect([body.approvals, body.budgets, body.connections, body.sinks.total]).toEqual([{ pending: 0 }, [], { total: 0, unhealthy: [], heldBackTools: 0 }, 0]);
    // Its chain is its own (its records of the config file applied), shorter than acme's.
    const acme = (await apiRequest<Overview>(gateway.baseUrl, KEYS.admin, 'GET', '/api/v1/overview')).body;
    expect(body.chain.chainedUpTo + body.chain.unchained).toBeLessThan(acme.chain.chainedUpTo + acme.chain.unchained);

    // Naming another organization does not reach it; a query the endpoint does not take is ignored, never a 500.
    const foreign = await fetch(`${gateway.baseUrl}/api/v1/overview`, { headers: { authorization: `Bearer ${KEYS.other}`, 'Gatehouse-Organization': 'acme' } });
    expect(foreign.status).toBeLessThan(500);
    if (foreign.ok) expect(((await foreign.json()) as Overview).calls.total).toBe(0);
    const hostile = await fetch(`${gateway.baseUrl}/api/v1/overview?from=%00'%3B--&hours=-1`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
    expect(hostile.status).toBe(400);
    expect(hostile.headers.get('content-type')).toContain('application/problem+json');
  });
});
