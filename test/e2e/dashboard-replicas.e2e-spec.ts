import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { apiRequest } from '../support/admin-api';
import { launchChromium, openDashboard } from '../support/chromium';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { insertPersonalKey } from '../support/personal-key';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const BOB = { email: 'bob@acme.test', password: 'bob-password-12345' };
const CAROL_KEY = 'ghk_test_dash_replicas_carol_001';

// A 2-of-N approval decided by two admins whose dashboards are open against two replicas of one deployment: the
// first approval reaches the other replica's dashboard live (cluster bus → event stream), and the second completes it.
describe('dashboard: approvals across replicas', () => {
  let a: TestGateway;
  let b: TestGateway;
  let marker: string;
  let browser: Browser;
  let carol: Client;

  const yaml = (markerFile: string) => `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${BOB.email}, role: admin, passwordEnv: BOB_PASSWORD }
      - { email: carol@acme.test, role: member }
    connections:
      - ${fixtureStdioYaml('tools', { FIXTURE_MARKER: markerFile })}
    policies:
      - name: notes-need-two
        match: { tools: [tools_write_note] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 2, expiresIn: 1h }
`;
  const vars = { ALICE_PASSWORD: ALICE.password, BOB_PASSWORD: BOB.password };

  const inbox = async (gateway: TestGateway, who: { email: string; password: string }): Promise<Page> => {
    const page = await openDashboard(browser, gateway.baseUrl, who, '/admin/o/acme/approvals');
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    return page;
  };

  beforeAll(async () => {
    marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-dash-replicas-')), 'marks');
    a = await startGateway({ yaml: yaml(marker), vars });
    b = await startGateway({ yaml: yaml(marker), vars, databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    await insertPersonalKey(a.databaseUrl, { organization: 'acme', email: 'carol@acme.test', secret: CAROL_KEY, role: 'member' });
    carol = await connectClient(a.mcpUrl, CAROL_KEY);
    await waitFor('the fixture tools', async () => (await listAllTools(carol)).some((tool) => tool.name === 'tools_write_note'), 30_000);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await carol?.close();
    await b?.close();
    await a?.close();
  });

  it('shows the first approval live on the other replica, where the second admin completes it; the call runs once', async () => {
    const [alicePage, bobPage] = await Promise.all([inbox(a, ALICE), inbox(b, BOB)]);
    const id = /Request ([0-9a-f-]{36}) sent to/.exec(textOf(await carol.callTool({ name: 'tools_write_note', arguments: { text: 'two keys' } })))![1]!;
    const aliceCard = alicePage.getByRole('article', { name: 'tools_write_note' });
    const bobCard = bobPage.getByRole('article', { name: 'tools_write_note' });
    await Promise.all([aliceCard.waitFor(), bobCard.waitFor()]);
    await expect(bobCard.getByLabel('Approvals so far').textContent()).resolves.toBe('0 of 2 approvals');

    await aliceCard.getByRole('button', { name: 'Approve' }).click();
    await alicePage.getByText('Approved: 1 of 2, waiting for more approvers.').waitFor();
    const decided = performance.now();
    await aliceCard.getByText('1 of 2 approvals').waitFor();
    // No reload on Bob's side: the stream of replica B heard of a decision made on replica A.
    await bobCard.getByText('1 of 2 approvals').waitFor({ timeout: 2_000 });
    console.log(`the first approval, made on replica A, showed on replica B's dashboard ${Math.round(performance.now() - decided)} ms after it was answered`);
    await bobCard.getByText(`${ALICE.email} approved`).waitFor();
    // Alice has decided: her buttons say so.
    await aliceCard.getByText('You have already approved it').waitFor();

    await bobCard.getByRole('button', { name: 'Approve' }).click();
    await bobPage.getByText('Approved: tools_write_note runs now.').waitFor();
    await waitFor('the call to run', async () => (await apiRequest<{ status: string }>(a.baseUrl, CAROL_KEY, 'GET', `/api/v1/approvals/${id}`)).body.status === 'executed', 30_000);
    await aliceCard.waitFor({ state: 'detached' });
    const calls = existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === 'call:write_note').length : 0;
    expect(calls).toBe(1);
  });
});
