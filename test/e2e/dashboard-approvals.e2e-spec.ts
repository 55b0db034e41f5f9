import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { csrfToken, launchChromium, openDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { insertMember, insertPersonalKey } from '../support/personal-key';
import { fixtureStdioYaml } from '../support/servers';
import { query } from '../support/database';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL = { email: 'carol@acme.test', password: 'carol-password-123' };
const DAVE = { email: 'dave@other.test', password: 'dave-password-1234' };
const KEYS = {
  carol: 'ghk_test_dash_carol_personal_01',
  alice: 'ghk_test_dash_alice_personal_01',
  bob: 'ghk_test_dash_bob_personal_0001',
  other: 'ghk_test_dash_other_admin_key01',
};

// The approvals inbox in real Chromium: an admin signs in at /admin, sees a member's held call appear live, approves
// it, and the call runs once; the admin's own request cannot be approved by them, and the page says why.
describe('dashboard: approvals inbox', () => {
  let gateway: TestGateway;
  let marker: string;
  let browser: Browser;
  const clients: Client[] = [];

  const downstreamCalls = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === 'call:write_note').length : 0);
  const connect = async (token: string) => {
    const client = await connectClient(gateway.mcpUrl, token);
    clients.push(client);
    return client;
  };
  const signedInPage = (who: { email: string; password: string }): Promise<Page> => openDashboard(browser, gateway.baseUrl, who, '/admin/o/acme/approvals');
  const requestIdOf = (text: string) => /Request ([0-9a-f-]{36}) sent to/.exec(text)?.[1] ?? '';

  beforeAll(async () => {
    marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-dashboard-')), 'marks');
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${CAROL.email}, role: member, passwordEnv: CAROL_PASSWORD }
    connections:
      - ${fixtureStdioYaml('tools', { FIXTURE_MARKER: marker })}
    policies:
      - name: notes-need-approval
        match: { tools: [tools_write_note] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
    costs:
      - { connection: tools, tool: write_note, perCallUsd: 0.25 }
    budgets:
      - { scope: member, member: ${CAROL.email}, period: month, limitUsd: 0.3 }
  - slug: other
    name: Other
    members:
      - { email: ${DAVE.email}, role: owner, passwordEnv: DAVE_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER }
`,
      vars: { ALICE_PASSWORD: ALICE.password, CAROL_PASSWORD: CAROL.password, DAVE_PASSWORD: DAVE.password, OTHER: KEYS.other },
    });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: CAROL.email, secret: KEYS.carol, role: 'member' });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: ALICE.email, secret: KEYS.alice, role: 'admin' });
    // A member who neither asks nor decides: nothing of others' requests reaches them.
    await insertMember(gateway.databaseUrl, { organization: 'acme', email: 'bob@acme.test', password: 'bob-password-12345', role: 'member' });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: 'bob@acme.test', secret: KEYS.bob, role: 'member' });
    await waitFor('the fixture tools', async () => (await listAllTools(await connect(KEYS.carol))).some((tool) => tool.name === 'tools_write_note'), 30_000);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
  });

  it("shows a member's held call within a second, and approving it runs it once for the requester", async () => {
    const page = await signedInPage(ALICE);
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    await page.getByText('Nothing waits for a decision.').waitFor();

    const carol = await connect(KEYS.carol);
    const held = await carol.callTool({ name: 'tools_write_note', arguments: { text: 'from the inbox' } });
    const id = requestIdOf(textOf(held));
    expect(id).not.toBe('');
    const asked = performance.now();
    const card = page.getByRole('article', { name: 'tools_write_note' });
    await card.waitFor({ timeout: 1_000 });
    console.log(`the held call appeared in the inbox ${Math.round(performance.now() - asked)} ms after the call was answered`);
    await expect(card.getByText('asked by carol@acme.test via API key "carol-personal"', { exact: false }).isVisible()).resolves.toBe(true);
    await expect(card.getByText('The tool is classed write.', { exact: false }).isVisible()).resolves.toBe(true);
    // Its price against the budget it counts toward, as things stand.
    const cost = card.getByLabel('Projected cost');
    await expect(cost.getByText('Costs $0.25 a call.').isVisible()).resolves.toBe(true);
    await expect(cost.getByText('Monthly member budget (carol@acme.test): $0.00 → $0.25 of $0.30', { exact: true }).isVisible()).resolves.toBe(true);
    await expect(card.getByText('"from the inbox"', { exact: false }).isVisible()).resolves.toBe(true);
    await expect(card.getByLabel('Approvals so far').textContent()).resolves.toBe('0 of 1 approvals');

    await card.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved: tools_write_note runs now.').waitFor();
    await waitFor('the approved call to run', async () => (await apiRequest<{ status: string }>(gateway.baseUrl, KEYS.carol, 'GET', `/api/v1/approvals/${id}`)).body.status === 'executed', 30_000);
    const result = (await apiRequest<{ result: { content: { text: string }[] } }>(gateway.baseUrl, KEYS.carol, 'GET', `/api/v1/approvals/${id}`)).body.result;
    expect(result.content[0]!.text).toContain('from the inbox');
    expect(downstreamCalls()).toBe(1);
    // Gone from the inbox, there in the history with its result.
    await card.waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: 'History' }).click();
    await page.getByRole('article', { name: 'tools_write_note' }).getByText('executed').waitFor();
    // The history's status badges keep their contrast too.
    expect(await violations(page)).toEqual([]);
  });

  it('does not let the requester approve their own request, and says why', async () => {
    const alice = await connect(KEYS.alice);
    const id = requestIdOf(textOf(await alice.callTool({ name: 'tools_write_note', arguments: { text: 'my own' } })));
    const page = await signedInPage(ALICE);
    const card = page.getByRole('article', { name: 'tools_write_note' });
    await card.waitFor();
    await expect(card.getByRole('button', { name: 'Approve' }).isDisabled()).resolves.toBe(true);
    await expect(card.getByRole('button', { name: 'Approve' }).getAttribute('aria-describedby')).resolves.toBe(`approval-${id}-why`);
    await card.getByText('Nobody approves their own request, whichever key or client they use').waitFor();
    // Nor through the API with the same session, the button's refusal being the server's.
    const forced = await page.context().request.post(`${gateway.baseUrl}/api/v1/approvals/${id}/approve`, {
      headers: { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': await csrfToken(page) },
      data: {},
    });
    expect(forced.status()).toBe(403);
  });

  it('streams approval events to those who may see them (not another organization, nor a member who neither asks nor decides), answers HEAD at once, and caps the streams', async () => {
    const head = await fetch(`${gateway.baseUrl}/api/v1/events`, { method: 'HEAD', headers: { authorization: `Bearer ${KEYS.alice}` }, signal: AbortSignal.timeout(5_000) });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/event-stream');

    const open = async (key: string) => {
      const controller = new AbortController();
      const response = await fetch(`${gateway.baseUrl}/api/v1/events`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
      expect(response.status).toBe(200);
      let text = '';
      const decoder = new TextDecoder();
      const reading = (async () => {
        try {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
        } catch {
          // aborted
        }
      })();
      return { text: () => text, close: async () => { controller.abort(); await reading; } };
    };
    const acme = await open(KEYS.alice);
    const bystander = await open(KEYS.bob);
    const other = await open(KEYS.other);
    const id = requestIdOf(textOf(await (await connect(KEYS.carol)).callTool({ name: 'tools_write_note', arguments: { text: 'streamed' } })));
    await waitFor('the event on the stream', () => acme.text().includes(`"id":"${id}"`), 5_000);
    // Carol's first note ran ($0.25 of $0.30): this one would take her budget past its limit, and says so.
    const projected = await apiRequest<{ cost: { budgets: { afterUsd: number; exceeds: boolean }[] } }>(gateway.baseUrl, KEYS.alice, 'GET', `/api/v1/approvals/${id}`);
    expect(projected.body.cost.budgets).toEqual([expect.objectContaining({ afterUsd: 0.5, exceeds: true })]);
    expect(acme.text()).toContain(`event: approval\ndata: {"id":"${id}","status":"pending"}`);
    await Promise.all([acme.close(), bystander.close(), other.close()]);
    expect(other.text()).not.toContain('event: approval');
    expect(bystander.text()).not.toContain('event: approval');

    // Sixteen streams at once per key and process; the seventeenth is refused with 429 until one closes.
    const streams = await Promise.all(Array.from({ length: 16 }, () => open(KEYS.alice)));
    const refused = await fetch(`${gateway.baseUrl}/api/v1/events`, { headers: { authorization: `Bearer ${KEYS.alice}` } });
    expect(refused.status).toBe(429);
    await Promise.all(streams.map((stream) => stream.close()));
  });

  it('pages a history of 10,000 decided requests on the server, for the dashboard and the API, and shows a member only theirs', async () => {
    // Ten thousand decided requests by a service key nobody else sees as theirs, written as the service writes them.
    await query(
      gateway.databaseUrl,
      `INSERT INTO approval_requests (id, organization_id, status, connection_name, tool_name, downstream_tool, arguments, arguments_hash,
         requester_subject, requester_identity, requester_name, requester_kind, requester_role, rule_name, approver_roles,
         required_approvals, expires_at, decided_at, created_at, updated_at)
       SELECT gen_random_uuid(), o.id, 'denied', 'tools', 'tools_write_note', 'write_note', jsonb_build_object('n', n), md5(n::text),
         'api_key:old', 'api_key:old', 'old-automation', 'api_key', 'member', 'notes-need-approval', ARRAY['admin']::"Role"[],
         1, now() - interval '1 day', now() - interval '1 day', now() - interval '2 days' - n * interval '1 second', now()
       FROM organizations o, generate_series(1, 10000) AS n WHERE o.slug = 'acme'`,
    );
    const seen = new Set<string>();
    let before: string | undefined;
    for (let page = 0; page < 60; page++) {
      const reply = await apiRequest<{ id: string; status: string; createdAt: string }[]>(gateway.baseUrl, KEYS.alice, 'GET', `/api/v1/approvals?status=decided&limit=200${before ? `&before=${before}` : ''}`);
      expect(reply.status).toBe(200);
      for (const approval of reply.body) seen.add(approval.id);
      expect(reply.body.every((approval) => approval.status !== 'pending')).toBe(true);
      if (reply.body.length < 200) break;
      before = reply.body[reply.body.length - 1]!.id;
    }
    expect(seen.size).toBeGreaterThanOrEqual(10_000);
    // A member who neither asked nor decides these sees none of them, and still gets full pages of their own.
    const bob = await apiRequest<unknown[]>(gateway.baseUrl, KEYS.bob, 'GET', '/api/v1/approvals?status=decided&limit=200');
    expect(bob.body).toEqual([]);
    for (const hostile of ['limit=0', 'limit=201', 'before=not-a-uuid', 'status=everything']) {
      expect([hostile, (await apiRequest(gateway.baseUrl, KEYS.alice, 'GET', `/api/v1/approvals?${hostile}`)).status]).toEqual([hostile, 400]);
    }

    const page = await signedInPage(ALICE);
    await page.getByRole('tab', { name: 'History' }).click();
    const cards = page.getByRole('article');
    await waitFor('the first page of the history', async () => (await cards.count()) === 50, 10_000);
    await page.getByRole('button', { name: 'Older requests' }).click();
    await waitFor('the second page of the history', async () => (await cards.count()) === 100, 10_000);
  });

  describe('the session on the admin API', () => {
    let page: Page;
    let id: string;
    beforeAll(async () => {
      page = await signedInPage(CAROL);
      id = requestIdOf(textOf(await (await connect(KEYS.carol)).callTool({ name: 'tools_write_note', arguments: { text: 'attacks' } })));
    });
    const request = () => page.context().request;

    it('refuses a change without the CSRF token, or with a wrong one', async () => {
      const attempts: Record<string, string>[] = [{ 'Gatehouse-Organization': 'acme' }, { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': 'forged' }];
      for (const headers of attempts) {
        const refused = await request().post(`${gateway.baseUrl}/api/v1/approvals/${id}/deny`, { headers, data: {} });
        expect(refused.status()).toBe(403);
        expect(((await refused.json()) as { detail: string }).detail).toContain('CSRF token');
      }
      expect((await apiRequest<{ status: string }>(gateway.baseUrl, KEYS.carol, 'GET', `/api/v1/approvals/${id}`)).body.status).toBe('pending');
    });

    it("refuses what a member's role may not do, with the token", async () => {
      const refused = await request().post(`${gateway.baseUrl}/api/v1/approvals/${id}/approve`, { headers: { 'Gatehouse-Organization': 'acme', 'X-CSRF-Token': await csrfToken(page) }, data: {} });
      expect(refused.status()).toBe(403);
      const members = await request().get(`${gateway.baseUrl}/api/v1/members`, { headers: { 'Gatehouse-Organization': 'acme' } });
      expect(members.status()).toBe(403);
      expect(((await members.json()) as { detail: string }).detail).toBe('You (role member) may not read Member resources');
    });

    it("reaches no other organization, by header or by query", async () => {
      for (const url of [`${gateway.baseUrl}/api/v1/approvals`, `${gateway.baseUrl}/api/v1/approvals?organization=other`]) {
        const refused = await request().get(url, url.includes('?') ? {} : { headers: { 'Gatehouse-Organization': 'other' } });
        expect(refused.status()).toBe(403);
      }
    });

    it('is not a credential for /mcp, and an API key gets no session', async () => {
      const mcp = await request().post(`${gateway.baseUrl}/mcp`, { headers: { accept: 'application/json, text/event-stream' }, data: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } } });
      expect(mcp.status()).toBe(401);
      const viaKey = await apiRequest(gateway.baseUrl, KEYS.other, 'GET', '/api/v1/session');
      expect(viaKey.status).toBe(401);
    });

    it('serves the dashboard with a strict content security policy, never cached, never framed', async () => {
      const response = await fetch(`${gateway.baseUrl}/admin/o/acme/approvals`);
      expect(response.status).toBe(200);
      const policy = response.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await (await fetch(`${gateway.baseUrl}/admin/assets/missing.js`)).json()).toMatchObject({ status: 404 });
    });

    it('refuses a sign-in form that did not come from this browser', async () => {
      const forged = await fetch(`${gateway.baseUrl}/admin/sign-in/password`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: CAROL.email, password: CAROL.password, csrf: 'forged', next: '/admin/' }),
        redirect: 'manual',
      });
      expect(forged.status).toBe(403);
      expect(forged.headers.get('set-cookie') ?? '').not.toContain('gatehouse_session');
    });

    it('ends on sign-out, everywhere', async () => {
      const token = await csrfToken(page);
      const cookie = (await page.context().cookies(gateway.baseUrl)).find((stored) => stored.name === 'gatehouse_session')!;
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
      // Another site cannot sign the person out either: no token, no sign-out.
      expect((await request().delete(`${gateway.baseUrl}/api/v1/session`)).status()).toBe(403);
      expect((await request().get(`${gateway.baseUrl}/api/v1/session`)).status()).toBe(200);
      expect((await request().delete(`${gateway.baseUrl}/api/v1/session`, { headers: { 'X-CSRF-Token': token } })).status()).toBe(204);
      // The cookie replayed from elsewhere is worth nothing: the session is gone from Redis.
      const replayed = await fetch(`${gateway.baseUrl}/api/v1/session`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
      expect(replayed.status).toBe(401);
    });
  });
});
