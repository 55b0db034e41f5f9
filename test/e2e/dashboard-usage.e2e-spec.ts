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
const KEYS = { alice: 'ghk_test_dash_usage_alice_key_01', carol: 'ghk_test_dash_usage_carol_key_01', globex: 'ghk_test_dash_usage_globex_key_1' };

interface BurnDown {
  budgets: {
    scope: string;
    member?: string;
    limitMicros: number;
    bucket: string;
    inFlightMicros: number;
    current: { spentMicros: number };
    points: { at: string; spentMicros: number }[];
  }[];
}

// The usage and budgets page: spend per connection, tool and member over a period kept in the URL, and each
// budget's burn-down with the reservations of calls under way. Prices: fx $0.10 a call (count $0.25), gx $0.05.
describe('dashboard: usage and budgets', () => {
  let gateway: TestGateway;
  let browser: Browser;

  const usagePage = async (who: { email: string; password: string }, search = ''): Promise<Page> => {
    const page = await openDashboard(browser, gateway.baseUrl, who, `/admin/o/acme/usage${search}`);
    await page.getByRole('heading', { name: 'Usage and budgets' }).waitFor();
    return page;
  };
  // The rows of a table that is not busy (busy: the previous period's figures, shown until the new ones arrive). Read
  // until they are there: a click can swap the table for its busy successor between finding it and reading it.
  const rows = (page: Page, table: string) =>
    waitFor(`the rows of "${table}"`, async () => {
      const found = page.locator('table[aria-busy="false"]').and(page.getByRole('table', { name: table }));
      const texts = await found.locator('tbody tr').allInnerTexts();
      return texts.length > 0 ? texts.map((row) => row.split('\t').map((cell) => cell.trim())) : undefined;
    }, 15_000);
  const call = async (key: string, calls: [string, Record<string, unknown>][]) => {
    const client = await connectClient(gateway.mcpUrl, key);
    for (const [name, args] of calls) expect((await client.callTool({ name, arguments: args })).isError).toBeFalsy();
    await client.close();
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
      - { email: ${ERIN.email}, role: auditor, passwordEnv: ERIN_PASSWORD }
    connections:
      - ${fixtureStdioYaml('fx')}
      - ${fixtureStdioYaml('gx')}
    costs:
      - { connection: fx, perCallUsd: 0.10 }
      - { connection: fx, tool: count, perCallUsd: 0.25 }
      - { connection: gx, perCallUsd: 0.05 }
    budgets:
      - { scope: organization, period: month, limitUsd: 5 }
      - { scope: member, member: ${CAROL.email}, period: day, limitUsd: 1 }
  - slug: globex
    name: Globex
    apiKeys:
      - { name: admin, role: admin, secretEnv: GLOBEX }
`,
      vars: { ALICE_PASSWORD: ALICE.password, CAROL_PASSWORD: CAROL.password, ERIN_PASSWORD: ERIN.password, GLOBEX: KEYS.globex },
    });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: ALICE.email, secret: KEYS.alice, role: 'admin' });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: CAROL.email, secret: KEYS.carol, role: 'member' });
    const client = await connectClient(gateway.mcpUrl, KEYS.alice);
    await waitFor('both fixture connections', async () => {
      const names = (await listAllTools(client)).map((tool) => tool.name);
      return names.includes('fx_echo') && names.includes('gx_echo');
    }, 30_000);
    await client.close();
    // Alice: 3 × fx_echo + fx_count = $0.55 in 4 calls; Carol: 2 × gx_echo + fx_echo = $0.20 in 3 calls.
    await call(KEYS.alice, [['fx_echo', { text: 'a' }], ['fx_echo', { text: 'b' }], ['fx_echo', { text: 'c' }], ['fx_count', {}]]);
    await call(KEYS.carol, [['gx_echo', { text: 'd' }], ['gx_echo', { text: 'e' }], ['fx_echo', { text: 'f' }]]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('shows an admin the spend per connection, tool and member, and keeps the period and grouping in the URL', async () => {
    const page = await usagePage(ALICE);
    await page.getByText('7 calls, $0.75').waitFor();
    expect(await rows(page, 'Spend per connection')).toEqual([
      ['fx', '5', '$0.65'],
      ['gx', '2', '$0.10'],
    ]);
    await expect(page.getByRole('figure', { name: /Spend per connection in US dollars/ }).isVisible()).resolves.toBe(true);
    expect(await violations(page)).toEqual([]);

    await page.getByRole('tab', { name: 'By tool' }).click();
    await page.waitForURL(/group=tool/);
    expect(await rows(page, 'Spend per tool')).toEqual([
      ['fx / count', '1', '$0.25'],
      ['fx / echo', '4', '$0.40'],
      ['gx / echo', '2', '$0.10'],
    ]);

    await page.getByRole('tab', { name: 'By member' }).click();
    await page.getByText('Last 7 days').click();
    await page.waitForURL(/group=member&period=7d/);
    expect(await rows(page, 'Spend per member')).toEqual([
      [ALICE.email, '4', '$0.55'],
      [CAROL.email, '3', '$0.20'],
    ]);
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ group: 'member', period: '7d' });

    await page.reload();
    await page.getByRole('heading', { name: 'Usage and budgets' }).waitFor();
    await expect(page.getByRole('tab', { name: 'By member' }).getAttribute('aria-selected')).resolves.toBe('true');
    await expect(page.getByRole('radio', { name: 'Last 7 days' }).isChecked()).resolves.toBe(true);
    expect(await rows(page, 'Spend per member')).toEqual([
      [ALICE.email, '4', '$0.55'],
      [CAROL.email, '3', '$0.20'],
    ]);

    // A custom period before any call has none; one that ends before it starts is refused, in words.
    await page.getByText('Custom').click();
    await page.getByLabel('From').fill('2020-01-01');
    await page.getByLabel('To (included)').fill('2020-01-31');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('No calls in this period.').waitFor();
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ group: 'member', period: 'custom', from: '2020-01-01', to: '2020-01-31' });
    await page.getByLabel('From').fill('2020-02-10');
    await page.getByLabel('To (included)').fill('2020-02-01');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('alert').getByText('"from" must be before "to"').waitFor();
    await page.close();
  });

  it("shows each budget's burn-down against its limit, and the spend matches the calls", async () => {
    const page = await usagePage(ALICE);
    const organization = page.getByRole('article', { name: 'Monthly budget of the organization' });
    await organization.getByText('$0.75 of $5.00 spent or reserved').waitFor();
    await expect(organization.getByText('In flight: $0.00').isVisible()).resolves.toBe(true);
    await expect(organization.getByRole('figure', { name: /Recorded spend since the start of the period, by day/ }).isVisible()).resolves.toBe(true);
    const carol = page.getByRole('article', { name: `Daily budget of ${CAROL.email}` });
    await carol.getByText('$0.20 of $1.00 spent or reserved').waitFor();
    await expect(page.getByRole('table', { name: 'Prices per call' }).isVisible()).resolves.toBe(true);
    expect(await violations(page)).toEqual([]);

    const { status, body } = await apiRequest<BurnDown>(gateway.baseUrl, KEYS.alice, 'GET', '/api/v1/budgets/burn-down');
    expect(status).toBe(200);
    const [month, day] = body.budgets;
    expect(month).toMatchObject({ scope: 'organization', bucket: 'day', inFlightMicros: 0, current: { spentMicros: 750_000 } });
    expect(day).toMatchObject({ scope: 'member', member: CAROL.email, bucket: 'hour', inFlightMicros: 0, current: { spentMicros: 200_000 } });
    // One point per day (per hour) from the period's start to now, cumulative: the last is what was recorded.
    const today = new Date().toISOString().slice(0, 10);
    expect(month!.points.map((point) => point.at.slice(0, 10))).toEqual(
      Array.from({ length: new Date().getUTCDate() }, (_, i) => `${today.slice(0, 8)}${String(i + 1).padStart(2, '0')}`),
    );
    expect(month!.points.at(-1)!.spentMicros).toBe(750_000);
    expect(day!.points).toHaveLength(new Date().getUTCHours() + 1);
    expect(day!.points.at(-1)!.spentMicros).toBe(200_000);
    await page.close();
  });

  it('shows the reservation of a call under way as in flight, and as spent once it ends', async () => {
    // Signed in first: on loaded CI machines sign-in and the first load took longer than the call lasted, so the page
    // came up once the reservation had already settled. The page is reloaded once the API shows it in flight.
    const page = await usagePage(ERIN);
    const client = await connectClient(gateway.mcpUrl, KEYS.carol);
    const slow = client.callTool({ name: 'fx_slow', arguments: { ms: 15_000 } });
    const budgets = async () => (await apiRequest<BurnDown>(gateway.baseUrl, KEYS.alice, 'GET', '/api/v1/budgets/burn-down')).body.budgets;
    const during = await waitFor('the reservation in flight', async () => {
      const found = await budgets();
      return found.every((budget) => budget.inFlightMicros === 100_000) ? found : undefined;
    }, 5_000);
    expect(during.map((budget) => budget.current.spentMicros)).toEqual([850_000, 300_000]);
    await page.reload();
    await page.getByRole('article', { name: `Daily budget of ${CAROL.email}` }).getByText('In flight: $0.10').waitFor();
    await page.close();
    expect((await slow).isError).toBeFalsy();
    await client.close();
    const after = await waitFor('the reservation settled', async () => {
      const found = await budgets();
      return found.every((budget) => budget.inFlightMicros === 0) ? found : undefined;
    }, 5_000);
    expect(after.map((budget) => [budget.current.spentMicros, budget.points.at(-1)!.spentMicros])).toEqual([
      [850_000, 850_000],
      [300_000, 300_000],
    ]);
  });

  it('lets an auditor read the page, with no change', async () => {
    const page = await usagePage(ERIN, '?group=tool');
    await page.getByRole('link', { name: 'Usage and budgets' }).waitFor();
    expect((await rows(page, 'Spend per tool')).map((row) => row[0])).toEqual(['fx / count', 'fx / echo', 'fx / slow', 'gx / echo']);
    await page.getByRole('article', { name: 'Monthly budget of the organization' }).waitFor();
    expect(await violations(page)).toEqual([]);
    const put = await page.context().request.put(`${gateway.baseUrl}/api/v1/budgets`, {
      headers: { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': await csrfToken(page) },
      data: { budgets: [] },
    });
    expect(put.status()).toBe(403);
    await page.close();
  });

  it("refuses a member, another organization's key, the CSRF-less and hostile queries", async () => {
    // A member: no link, and the page says why instead of spinning.
    const carol = await usagePage(CAROL);
    await expect(carol.getByRole('link', { name: 'Usage and budgets' }).count()).resolves.toBe(0);
    await carol.getByRole('alert').filter({ hasText: 'The usage could not be loaded' }).waitFor({ timeout: 20_000 });
    await carol.close();
    for (const path of ['/api/v1/usage', '/api/v1/budgets', '/api/v1/budgets/burn-down', '/api/v1/costs']) {
      const reply = await apiRequest<{ status: number }>(gateway.baseUrl, KEYS.carol, 'GET', path);
      expect({ path, status: reply.status, type: reply.contentType }).toEqual({ path, status: 403, type: expect.stringContaining('application/problem+json') });
    }

    // Another organization's admin key sees its own (empty) organization, whatever organization it names.
    const acme = { 'Gatehouse-Organization': 'acme' };
    const usage = await apiRequest<{ calls: number; groups: unknown[] }>(gateway.baseUrl, KEYS.globex, 'GET', '/api/v1/usage?groupBy=member', undefined, acme);
    expect(usage.status).toBe(200);
    expect(usage.body).toMatchObject({ calls: 0, groups: [] });
    const burnDown = await apiRequest<BurnDown>(gateway.baseUrl, KEYS.globex, 'GET', '/api/v1/budgets/burn-down', undefined, acme);
    expect(burnDown.body.budgets).toEqual([]);
    const costs = await apiRequest<{ costs: unknown[] }>(gateway.baseUrl, KEYS.globex, 'GET', '/api/v1/costs', undefined, acme);
    expect(costs.body.costs).toEqual([]);

    // A session change without the CSRF token; with it, the config file's budgets cannot be changed here.
    const alice = await usagePage(ALICE);
    const put = (headers: Record<string, string>) =>
      alice.context().request.put(`${gateway.baseUrl}/api/v1/budgets`, { headers: { ...acme, ...headers }, data: { budgets: [] } });
    expect((await put({})).status()).toBe(403);
    const managed = await put({ 'X-CSRF-Token': await csrfToken(alice) });
    expect(managed.status()).toBe(409);
    expect(((await managed.json()) as { detail: string }).detail).toContain('managed by the config file');
    await alice.close();

    for (const search of ['from=yesterday', 'from=2026-13-45', 'to=2026-01-01T00:00:00', 'from=2026-02-01&to=2026-01-01', 'groupBy=session', 'groupBy=member&limit=5', 'from=%00']) {
      const reply = await apiRequest<{ status: number }>(gateway.baseUrl, KEYS.alice, 'GET', `/api/v1/usage?${search}`);
      expect({ search, status: reply.status, type: reply.contentType }).toEqual({ search, status: 400, type: expect.stringContaining('application/problem+json') });
    }
  });
});
