import type { Browser, Page } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { csrfToken, launchChromium, openDashboard, violations } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { insertPersonalKey } from '../support/personal-key';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CAROL = { email: 'carol@acme.test', password: 'carol-password-123' };
const KEYS = {
  alice: 'ghk_test_dash_policies_alice_0001',
  carol: 'ghk_test_dash_policies_carol_0001',
  other: 'ghk_test_dash_policies_other_0001',
  globex: 'ghk_test_dash_policies_globex_001',
};

const INITIAL = { defaultEffect: 'allow', rules: [{ name: 'notes-need-approval', match: { tools: ['tools_write_note'] }, effect: 'require_approval' }], toolClasses: [] };
const NO_ECHO = { name: 'members-no-echo', description: 'members do not echo', match: { roles: ['member'], tools: ['tools_echo'] }, effect: 'deny' };
const withRule = (rule: object) => JSON.stringify({ ...INITIAL, rules: [...INITIAL.rules, rule] }, null, 2);

interface Problem {
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

// The policy editor: validate a draft (problems by path), preview a member's tools/list under it without applying
// it, save it with the change shown, and compare revisions. Config-file policies are read-only.
describe('dashboard: policies', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let carolId: string;
  let carolKeyId: string;

  const policiesPage = async (org = 'acme'): Promise<Page> => {
    const page = await openDashboard(browser, gateway.baseUrl, ALICE, `/admin/o/${org}/policies`);
    await page.getByRole('heading', { name: 'Policies', level: 2 }).waitFor();
    return page;
  };
  const mcpTools = async (key: string) => {
    const client = await connectClient(gateway.mcpUrl, key);
    try {
      return (await listAllTools(client)).map((tool) => tool.name);
    } finally {
      await client.close();
    }
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
    connections:
      - ${fixtureStdioYaml('tools')}
  - slug: globex
    name: Globex
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: GLOBEX }
    policies:
      - { name: from-the-file, match: { tools: ["*_crash"] }, effect: deny }
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER }
`,
      vars: { ALICE_PASSWORD: ALICE.password, CAROL_PASSWORD: CAROL.password, OTHER: KEYS.other, GLOBEX: KEYS.globex },
    });
    await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: ALICE.email, secret: KEYS.alice, role: 'admin' });
    carolKeyId = await insertPersonalKey(gateway.databaseUrl, { organization: 'acme', email: CAROL.email, secret: KEYS.carol, role: 'member' });
    await waitFor('the fixture tools', async () => (await mcpTools(KEYS.carol)).includes('tools_echo'), 30_000);
    const members = await apiRequest<{ userId: string; email: string }[]>(gateway.baseUrl, KEYS.alice, 'GET', '/api/v1/members');
    carolId = members.body.find((member) => member.email === CAROL.email)!.userId;
    // Version 1, so that the page's save makes the second revision.
    expect((await apiRequest(gateway.baseUrl, KEYS.alice, 'PUT', '/api/v1/policies', INITIAL)).status).toBe(200);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('validates a draft, previews it as a member without applying it, saves it, and shows the revisions and their diff', async () => {
    const page = await policiesPage();
    const editor = page.getByRole('textbox', { name: /^Policy \(version 1\) as JSON/ });
    await editor.waitFor();

    // A broken rule: auditors cannot approve. The problem is said in words, with its path.
    await editor.fill(withRule({ ...NO_ECHO, effect: 'require_approval', approval: { approverRoles: ['auditor'] } }));
    await page.getByRole('button', { name: 'Validate' }).click();
    const problems = page.getByRole('alert').filter({ hasText: 'This draft cannot be saved' });
    await problems.getByText('rules.1.approval.approverRoles.0').waitFor();
    await expect(problems.textContent()).resolves.toContain('auditors read approval requests; they cannot decide them');

    await editor.fill(withRule(NO_ECHO));
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByRole('status').getByText('2 rules and 0 tool classes', { exact: false }).waitFor();

    // The preview: Carol would lose tools_echo under the draft; over MCP she still has it (nothing applied).
    await page.getByRole('combobox', { name: 'Preview as' }).click();
    await page.getByRole('option', { name: `${CAROL.email} (member)` }).click();
    await page.getByRole('button', { name: 'Preview' }).click();
    const tools = page.getByRole('table', { name: `Tools of ${CAROL.email}` });
    await tools.getByText('under the draft', { exact: false }).waitFor();
    const echo = tools.getByRole('row').filter({ has: page.getByRole('cell', { name: 'tools_echo', exact: true }) });
    await expect(echo.textContent()).resolves.toMatch(/Hidden.*members-no-echo: members do not echo/);
    const note = tools.getByRole('row').filter({ has: page.getByRole('cell', { name: 'tools_write_note', exact: true }) });
    await expect(note.textContent()).resolves.toContain('Needs approval');
    expect(await mcpTools(KEYS.carol)).toContain('tools_echo');

    // Save: the confirmation shows the rule being added.
    await page.getByRole('button', { name: 'Save…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Save version 2 of the policy?' });
    await expect(dialog.getByLabel('Change to save').textContent()).resolves.toContain('+       "name": "members-no-echo"');
    await dialog.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy version 2 is in force', { exact: false }).waitFor();
    expect(await mcpTools(KEYS.carol)).not.toContain('tools_echo');
    expect(await mcpTools(KEYS.carol)).toContain('tools_count');

    // Two revisions; by default the newest is compared with the one before it.
    const revisions = page.getByRole('table', { name: 'Policy revisions' });
    await waitFor('two revisions', async () => (await revisions.getByRole('row').count()) === 3, 10_000);
    const diff = page.getByLabel('Difference between version 1 and version 2');
    await expect(diff.textContent()).resolves.toContain('+       "name": "members-no-echo"');
    await expect(diff.textContent()).resolves.not.toContain('-       "name": "notes-need-approval"');
    expect(await violations(page)).toEqual([]);
  });

  it('shows a config-file policy read-only, pointing to the file, and refuses to save it (409)', async () => {
    const page = await policiesPage('globex');
    const notice = page.getByRole('alert').filter({ hasText: 'Managed by the config file' });
    await notice.getByLabel('Config file entry of the policy').getByText('from-the-file', { exact: false }).waitFor();
    await expect(page.getByRole('button', { name: 'Save…' }).isDisabled()).resolves.toBe(true);
    const refused = await apiRequest<Problem>(gateway.baseUrl, KEYS.globex, 'PUT', '/api/v1/policies', { rules: [] });
    expect([refused.status, refused.body.detail]).toEqual([409, expect.stringContaining('managed by the config file')]);
  });

  it('refuses members, other organizations, changes without the CSRF token, and hostile drafts, in words', async () => {
    for (const [method, path, body] of [
      ['POST', '/api/v1/policies/validate', INITIAL],
      ['POST', '/api/v1/policies/preview', { as: { member: carolId } }],
      ['PUT', '/api/v1/policies', INITIAL],
    ] as const) {
      expect([path, (await apiRequest(gateway.baseUrl, KEYS.carol, method, path, body)).status]).toEqual([path, 403]);
    }

    // Another organization's admin: this organization's member and key do not exist for them.
    for (const as of [{ member: carolId }, { apiKey: carolKeyId }]) {
      const reply = await apiRequest<Problem>(gateway.baseUrl, KEYS.other, 'POST', '/api/v1/policies/preview', { as });
      expect([reply.status, reply.body.detail]).toEqual([404, expect.stringContaining('not found')]);
    }
    const asKey = await apiRequest<{ as: { role: string }; tools: { name: string; listed: boolean }[] }>(gateway.baseUrl, KEYS.alice, 'POST', '/api/v1/policies/preview', {
      as: { apiKey: carolKeyId },
    });
    expect(asKey.status).toBe(200);
    expect(asKey.body.as.role).toBe('member');
    expect(asKey.body.tools).toContainEqual(expect.objectContaining({ name: 'tools_echo', listed: false }));

    // A session's change without its CSRF token.
    const page = await policiesPage();
    const headers = { 'Gatehouse-Organization': 'acme' };
    expect((await page.context().request.put(`${gateway.baseUrl}/api/v1/policies`, { headers, data: INITIAL })).status()).toBe(403);
    expect((await page.context().request.post(`${gateway.baseUrl}/api/v1/policies/validate`, { headers, data: INITIAL })).status()).toBe(403);
    const withToken = await page.context().request.post(`${gateway.baseUrl}/api/v1/policies/validate`, { headers: { ...headers, 'X-CSRF-Token': await csrfToken(page) }, data: INITIAL });
    expect(withToken.status()).toBe(200);

    // Hostile drafts: too many rules, a value nested too deep, a pattern RE2 cannot run; each a 400 in words.
    // Written as text: the test's own JSON.stringify could not write it either.
    const deep = `{"as":{"member":"${carolId}"},"policy":{"rules":[{"name":"deep","effect":"deny","match":{"arguments":[{"path":"a","equals":${'['.repeat(50_000)}1${']'.repeat(50_000)}}]}}]}}`;
    const deepReply = await fetch(`${gateway.baseUrl}/api/v1/policies/preview`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEYS.alice}`, 'Content-Type': 'application/json' },
      body: deep,
    });
    expect([deepReply.status, ((await deepReply.json()) as Problem).detail]).toEqual([400, expect.stringContaining('must nest no deeper than 32 levels')]);
    const rule = (match: object) => ({ name: 'hostile', match, effect: 'deny' });
    const hostile: [object, RegExp][] = [
      [{ rules: Array.from({ length: 501 }, (_, index) => rule({ tools: [`t${index}`] })).map((r, index) => ({ ...r, name: `r${index}` })) }, /rules: .*500/],
      [{ rules: [rule({ arguments: [{ path: 'a', matches: '(?<=a)b' }] })] }, /RE2 syntax/],
      [{ rules: [{ name: 'x', effect: 'forbid' }] }, /rules\.0\.effect/],
    ];
    for (const [policy, words] of hostile) {
      const reply = await apiRequest<Problem>(gateway.baseUrl, KEYS.alice, 'POST', '/api/v1/policies/preview', { policy, as: { member: carolId } });
      expect([reply.status, reply.body.detail]).toEqual([400, expect.stringMatching(words)]);
    }
    // A catastrophic-backtracking pattern is linear under RE2: accepted, and previewed at once.
    const started = Date.now();
    const catastrophic = await apiRequest(gateway.baseUrl, KEYS.alice, 'POST', '/api/v1/policies/preview', {
      policy: { rules: [rule({ arguments: [{ path: 'a', matches: '^(a+)+$' }] })] },
      as: { member: carolId },
    });
    expect(catastrophic.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
    const huge = await apiRequest<Problem>(gateway.baseUrl, KEYS.alice, 'POST', '/api/v1/policies/validate', { rules: [rule({ apiKeys: ['k'.repeat(5 * 1024 * 1024)] })] });
    expect([huge.status, huge.body.detail]).toEqual([413, expect.stringContaining('exceeds the limit')]);
    // Nothing above was stored.
    const revisions = await apiRequest<unknown[]>(gateway.baseUrl, KEYS.alice, 'GET', '/api/v1/policies/revisions');
    expect(revisions.body).toHaveLength(2);
  });
});
