import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { AuditSinkDeliverer } from '@gatehouse/audit';
import { apiRequest } from '../support/admin-api';
import { csrfToken, launchChromium, openDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { startWebhookReceiver, WebhookReceiver } from '../support/siem-receivers';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const ADMIN_KEY = 'ghk_test_dash_audit_admin_00001';
const MEMBER_KEY = 'ghk_test_dash_audit_member_0001';
const OTHER_KEY = 'ghk_test_dash_audit_other_00001';
const HOOK_SECRET = 'dash-audit-webhook-secret-0001';
const ECHOES = 5;

interface AuditRecord {
  eventId: string;
  organizationId: string;
  kind: string;
  callId: string | null;
  outcome: string | null;
  actor: Record<string, unknown>;
  target: Record<string, unknown> | null;
}
interface AuditPage {
  items: AuditRecord[];
  nextCursor: string | null;
  prevCursor: string | null;
}

// The audit log page in real Chromium: filters in the URL, cursor pages both ways, a record and its call's timeline,
// verification, exports of the filter, and a dead-lettered SIEM sink retried; then what others may not do.
describe('dashboard: audit log', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let client: Client;
  let hooks: WebhookReceiver;
  let sinkId: string;
  let page: Page;

  const api = <T>(token: string, method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, token, method, path, body);
  const rows = () => page.getByRole('table', { name: 'Audit records' }).getByRole('button', { name: /^Details of / });
  const shownIds = async () => (await rows().evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label') ?? ''))).map((label) => /\(([0-9a-f-]{36})\)$/.exec(label)![1]!);

  beforeAll(async () => {
    hooks = await startWebhookReceiver({ '/hook': HOOK_SECRET });
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
    apiKeys:
      - { name: ci, role: admin, secretEnv: ADMIN_KEY }
      - { name: member, role: member, secretEnv: MEMBER_KEY }
    connections:
      - ${fixtureStdioYaml('fixture')}
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER_KEY }
`,
      vars: { ALICE_PASSWORD: ALICE.password, ADMIN_KEY, MEMBER_KEY, OTHER_KEY },
    });
    // One failure is enough for the dead letter here (minutes of retries in production).
    gateway.app.get(AuditSinkDeliverer, { strict: false }).retryPolicy = { deadLetterAfter: 1, delayMs: () => 200 };
    client = await connectClient(gateway.mcpUrl, ADMIN_KEY);
    await waitFor('the fixture tools', async () => (await listAllTools(client)).some((tool) => tool.name === 'fixture_echo'), 30_000);
    for (let i = 0; i < ECHOES; i++) await client.callTool({ name: 'fixture_echo', arguments: { text: `hello ${i}` } });
    await client.callTool({ name: 'fixture_count', arguments: {} });
    // A sink whose receiver does not know its secret: every delivery is refused, so it lands in the dead letter.
    const sink = await api<{ id: string }>(ADMIN_KEY, 'POST', '/api/v1/audit/sinks', { name: 'soc-hook', type: 'webhook', url: `${hooks.baseUrl}/hook`, secret: 'not-the-receivers-secret-01', format: 'native' });
    expect(sink.status).toBe(201);
    sinkId = sink.body.id;
    await waitFor('the sink to be dead-lettered', async () => (await api<{ state: string }>(ADMIN_KEY, 'GET', `/api/v1/audit/sinks/${sinkId}`)).body.state === 'dead_letter', 30_000);
    browser = await launchChromium();
    page = await openDashboard(browser, gateway.baseUrl, ALICE, '/admin/o/acme/audit?limit=2');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await client?.close();
    await gateway?.close();
    await hooks?.stop();
  });

  it('filters by tool and outcome in the URL, keeps the filter on reload, and pages older and newer', async () => {
    await page.getByRole('textbox', { name: 'Tool', exact: true }).fill('fixture_echo');
    await page.getByRole('textbox', { name: 'Outcome', exact: true }).fill('ok');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.waitForURL(/tool=fixture_echo/);
    expect(new URL(page.url()).searchParams.get('outcome')).toBe('ok');
    await waitFor('the filtered first page', async () => (await rows().count()) === 2);

    await page.reload();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await expect(page.getByRole('textbox', { name: 'Tool', exact: true }).inputValue()).resolves.toBe('fixture_echo');
    await waitFor('the filtered first page again', async () => (await rows().count()) === 2);
    const first = await shownIds();
    await expect(page.getByRole('button', { name: 'Newer' }).isDisabled()).resolves.toBe(true);

    const seen = [...first];
    for (const size of [2, 1]) {
      await page.getByRole('button', { name: 'Older' }).click();
      await waitFor(`an older page of ${size}`, async () => (await rows().count()) === size && !seen.includes((await shownIds())[0]!));
      seen.push(...(await shownIds()));
    }
    expect(new Set(seen).size).toBe(ECHOES);
    await expect(page.getByRole('button', { name: 'Older' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Newer' }).click();
    await waitFor('the middle page again', async () => (await shownIds()).join() === seen.slice(2, 4).join());
    await page.getByRole('button', { name: 'Newer' }).click();
    await waitFor('the first page again', async () => (await shownIds()).join() === first.join());
    await expect(page.getByRole('button', { name: 'Newer' }).isDisabled()).resolves.toBe(true);
    expect(await violations(page)).toEqual([]);
  });

  it("opens a record's detail and its call's timeline: request, policy decision, outcome", async () => {
    await rows().first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('"tool": "fixture_echo"').waitFor();
    expect(await violations(page)).toEqual([]);
    await dialog.getByRole('link', { name: /^Timeline of call / }).click();
    await page.getByRole('heading', { name: /^Call [0-9a-f-]{36}$/ }).waitFor();
    for (const step of ['Request', 'Policy decision: allow', 'Downstream outcome: ok']) await page.getByText(step, { exact: true }).waitFor();
    expect(await violations(page)).toEqual([]);
    await page.getByRole('link', { name: /Back to the audit log/ }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await waitFor("the call's two records", async () => (await rows().count()) === 2);
  });

  it('verifies the chain, and exports the current filter as NDJSON, CSV and OCSF', async () => {
    await page.goto(`${gateway.baseUrl}/admin/o/acme/audit?tool=fixture_echo&outcome=ok`);
    await waitFor('the filtered records', async () => (await rows().count()) === ECHOES);
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByRole('status').filter({ hasText: 'Chain verified' }).waitFor();

    // The links as the browser follows them: the session cookie and ?organization=, no headers.
    const download = async (label: string) => {
      const href = await page.getByRole('link', { name: `Export ${label}` }).getAttribute('href');
      const reply = await page.context().request.get(new URL(href!, page.url()).href);
      expect(reply.status()).toBe(200);
      return (await reply.text()).trimEnd().split('\n');
    };
    const native = (await download('NDJSON')).map((line) => JSON.parse(line) as AuditRecord);
    expect(native).toHaveLength(ECHOES);
    expect(native.every((record) => record.target?.['tool'] === 'fixture_echo' && record.outcome === 'ok')).toBe(true);
    const csv = await download('CSV');
    expect(csv[0]).toMatch(/^seq,/);
    expect(csv).toHaveLength(ECHOES + 1);
    expect(await download('OCSF')).toHaveLength(ECHOES);
  });

  it('shows the sink with its lag and dead letter, and Retry puts it back to work, recorded as the person', async () => {
    const sinks = page.getByRole('table', { name: 'SIEM sinks' });
    const row = sinks.getByRole('row', { name: /soc-hook/ });
    await row.getByText('dead letter').waitFor();
    expect(Number(await row.getByRole('cell').nth(2).textContent())).toBeGreaterThan(0);
    await expect(row.getByRole('cell').nth(4).textContent()).resolves.toMatch(/401/);
    await row.getByRole('button', { name: 'Retry soc-hook' }).click();
    await page.getByText('soc-hook delivers again from where it stopped; nothing is skipped.').waitFor();
    const retried = await api<AuditPage>(ADMIN_KEY, 'GET', '/api/v1/audit/records?kind=admin.audit_sink.retried');
    expect(retried.body.items[0]?.actor).toMatchObject({ type: 'user', name: expect.any(String) });
    expect(JSON.stringify(retried.body.items[0]?.actor)).toContain(ALICE.email);
    expect(await violations(page)).toEqual([]);
    // No secret reaches the browser: not in the sinks' answer.
    const listed = await page.context().request.get(`${gateway.baseUrl}/api/v1/audit/sinks`, { headers: { 'Gatehouse-Organization': 'acme' } });
    expect(await listed.text()).not.toContain('not-the-receivers-secret');
  });

  describe('what others may not do', () => {
    it("shows another organization none of this one's records, calls, exports or sinks", async () => {
      const acme = await api<AuditPage>(ADMIN_KEY, 'GET', '/api/v1/audit/records?tool=fixture_echo');
      const callId = acme.body.items[0]!.callId!;
      const theirs = await api<AuditPage>(OTHER_KEY, 'GET', '/api/v1/audit/records?limit=1000');
      expect(theirs.body.items.filter((record) => record.organizationId === acme.body.items[0]!.organizationId)).toEqual([]);
      expect((await api<AuditPage>(OTHER_KEY, 'GET', `/api/v1/audit/records?callId=${callId}`)).body.items).toEqual([]);
      expect((await api(OTHER_KEY, 'GET', `/api/v1/audit/calls/${callId}`)).status).toBe(404);
      const exported = await api<string>(OTHER_KEY, 'GET', '/api/v1/audit/export?format=ndjson');
      expect(exported.status).toBe(200);
      expect(String(exported.body ?? '')).not.toContain(callId);
      expect((await api<unknown[]>(OTHER_KEY, 'GET', '/api/v1/audit/sinks')).body).toEqual([]);
      expect((await api(OTHER_KEY, 'POST', `/api/v1/audit/sinks/${sinkId}/retry`)).status).toBe(404);
      // A session may not name an organization it is not a member of, in the query either.
      const foreign = await page.context().request.get(`${gateway.baseUrl}/api/v1/audit/export?organization=other`);
      expect(foreign.status()).toBe(403);
    });

    it('refuses members the records, calls, exports, verification and sinks', async () => {
      const callId = (await api<AuditPage>(ADMIN_KEY, 'GET', '/api/v1/audit/records?tool=fixture_echo')).body.items[0]!.callId!;
      for (const path of ['/api/v1/audit/records', `/api/v1/audit/calls/${callId}`, '/api/v1/audit/export', '/api/v1/audit/verify', '/api/v1/audit/sinks']) {
        expect({ path, status: (await api(MEMBER_KEY, 'GET', path)).status }).toEqual({ path, status: 403 });
      }
      expect((await api(MEMBER_KEY, 'POST', `/api/v1/audit/sinks/${sinkId}/retry`)).status).toBe(403);
    });

    it('refuses Retry from a session without the CSRF token, or with a wrong one', async () => {
      for (const headers of [{ 'Gatehouse-Organization': 'acme' }, { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': 'forged' }] as Record<string, string>[]) {
        const refused = await page.context().request.post(`${gateway.baseUrl}/api/v1/audit/sinks/${sinkId}/retry`, { headers });
        expect(refused.status()).toBe(403);
        expect(((await refused.json()) as { detail: string }).detail).toContain('CSRF token');
      }
      const allowed = await page.context().request.post(`${gateway.baseUrl}/api/v1/audit/sinks/${sinkId}/retry`, {
        headers: { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': await csrfToken(page) },
      });
      expect(allowed.status()).toBe(200);
    });

    it.each([
      ['a forged cursor', 'cursor=bm90LWEtY3Vyc29y'],
      ['a cursor past the largest id', `cursor=${Buffer.from('9999999999999999999').toString('base64url')}`],
      ['a huge limit', 'limit=100000000'],
      ['a negative limit', 'limit=-1'],
      ['a date that is not one', 'from=yesterday'],
      ['an inverted range', 'from=2026-02-01&to=2026-01-01'],
      ['a call id that is not a UUID', 'callId=1%27%20OR%201%3D1'],
    ])('answers %s with a problem, not a failure', async (_, search) => {
      for (const path of ['/api/v1/audit/records', '/api/v1/audit/export']) {
        if (path.endsWith('export') && /cursor|limit/.test(search)) continue;
        const reply = await api<{ status: number; detail: string }>(ADMIN_KEY, 'GET', `${path}?${search}`);
        expect({ path, status: reply.status, type: reply.contentType }).toEqual({ path, status: 400, type: expect.stringContaining('application/problem+json') });
      }
      expect((await api(ADMIN_KEY, 'GET', '/api/v1/audit/calls/not-a-uuid')).status).toBe(400);
    });
  });
});
