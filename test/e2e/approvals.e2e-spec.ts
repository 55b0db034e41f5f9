import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { verifyWebhookSignature } from '@gatehouse/governance';
import { apiRequest } from '../support/admin-api';
import { lockRows, query } from '../support/database';
import { BrowserPage } from '../support/browser';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { codeFrom, OAuthFlow, signInAndApprove } from '../support/oauth-flow';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';
import { startReceiver, WebhookReceiver } from '../support/webhooks';

jest.setTimeout(120_000);

const KEYS = { agent: 'ghk_test_approvals_agent_key_001', admin1: 'ghk_test_approvals_admin_key_002', admin2: 'ghk_test_approvals_admin_key_003' };
const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const BOB = { email: 'bob@acme.test', password: 'bob-password-4567' };
const HOOK_SECRET = 'approvals-hook-secret-0001';

interface Approval {
  id: string;
  status: string;
  approvals: number;
  reason: string | null;
  result: { content: { type: string; text: string }[]; isError?: boolean } | null;
  decisions: { approver: string; approved: boolean }[];
}

// Calls a policy holds for approval: requested, decided by others (N of M), run exactly once by a job, read back.
describe('approval requests', () => {
  let gateway: TestGateway;
  let marker: string;
  let receiver: WebhookReceiver;
  const clients: Client[] = [];

  const connect = async (token: string) => {
    const client = await connectClient(gateway.mcpUrl, token);
    clients.push(client);
    return client;
  };
  const api = <T>(token: string, method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, token, method, path, body);
  const downstreamCalls = (tool: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === `call:${tool}`).length : 0);
  const requestIdOf = (text: string) => /Request ([0-9a-f-]{36}) sent to/.exec(text)?.[1] ?? '';
  const approval = async (token: string, id: string) => (await api<Approval>(token, 'GET', `/api/v1/approvals/${id}`)).body;

  /**
   * An OAuth access token for a person, through sign-in and consent (a person, not a key, behind it), with the
   * administration the person grants on the consent page: deciding approvals is administration.
   */
  const tokenFor = async (who: { email: string; password: string }) =>
    (await new OAuthFlow(gateway.baseUrl, gateway.mcpUrl).tokensFor(who, { scope: 'mcp:read mcp:write mcp:admin', administration: 'Acme' })).body['access_token']!;


  beforeAll(async () => {
    marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-approvals-')), 'marks');
    receiver = await startReceiver();
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    # Approvers here are config keys, which have no person behind them.
    keyApprovals: true
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${BOB.email}, role: admin, passwordEnv: BOB_PASSWORD }
    apiKeys:
      - { name: agent, role: member, secretEnv: AGENT }
      - { name: admin1, role: admin, secretEnv: ADMIN1 }
      - { name: admin2, role: admin, secretEnv: ADMIN2 }
    connections:
      - ${fixtureStdioYaml('tools', { FIXTURE_MARKER: marker })}
    webhooks:
      - { name: approvals, url: "${receiver.url}", secretEnv: HOOK_SECRET, events: [approval.created, approval.decided] }
    policies:
      - name: notes-need-approval
        match: { tools: [tools_write_note] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
      - name: loud-echo-needs-two
        match: { tools: [tools_echo], arguments: [{ path: text, matches: "^LOUD" }] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 2, expiresIn: 1h }
      - name: slow-expires-fast
        match: { tools: [tools_slow] }
        effect: require_approval
        approval: { approverRoles: [admin], expiresIn: 2s }
      # Assistants connected with OAuth may decide approvals in this organization (not by default).
      - name: assistants-may-decide
        match: { tools: [gatehouse_approve_request, gatehouse_deny_request] }
        effect: allow
`,
      vars: { HOOK_SECRET, AGENT: KEYS.agent, ADMIN1: KEYS.admin1, ADMIN2: KEYS.admin2, ALICE_PASSWORD: ALICE.password, BOB_PASSWORD: BOB.password },
    });
    await waitFor('the fixture tools', async () => (await listAllTools(await connect(KEYS.admin1))).some((tool) => tool.name === 'tools_write_note'), 30_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
    await receiver?.stop();
  });

  it('holds the call, runs it once after an approval, tells the requester, who reads the result', async () => {
    const agent = await connect(KEYS.agent);
    const notices: unknown[] = [];
    agent.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void notices.push(notification.params.data));

    const held = await agent.callTool({ name: 'tools_write_note', arguments: { text: 'ship it' } });
    expect(held.isError).toBe(true);
    expect(textOf(held)).toMatch(/^Approval required\. Request [0-9a-f-]{36} sent to admin under policy rule "notes-need-approval"\./);
    const id = requestIdOf(textOf(held));
    expect(downstreamCalls('write_note')).toBe(0);

    const pending = JSON.parse(textOf(await agent.callTool({ name: 'gatehouse_get_approval', arguments: { id } }))) as { approval: Approval };
    expect(pending.approval).toMatchObject({ status: 'pending', approvals: 0, result: null });
    // A member is not an approver.
    expect((await api(KEYS.agent, 'POST', `/api/v1/approvals/${id}/approve`, {})).status).toBe(403);

    const approved = await api<Approval>(KEYS.admin1, 'POST', `/api/v1/approvals/${id}/approve`, { reason: 'looks fine' });
    expect(approved.status).toBe(200);
    const done = await waitFor('the approved call to run', async () => {
      const read = JSON.parse(textOf(await agent.callTool({ name: 'gatehouse_get_approval', arguments: { id } }))) as { approval: Approval };
      return read.approval.status === 'executed' ? read.approval : null;
    });
    expect(done.result?.content[0]?.text).toBe('wrote: ship it');
    expect(downstreamCalls('write_note')).toBe(1);
    // The run is accounted to the requester and points back to the request.
    await waitFor('the usage record of the approved call', async () => {
      const rows = await query<{ principal_subject: string }>(gateway.databaseUrl, 'SELECT principal_subject FROM usage_records WHERE approval_request_id = $1', [id]);
      return rows.length === 1 && rows[0]!.principal_subject.startsWith('api_key:');
    });
    await waitFor('the requester to be notified', () => notices.some((data) => (data as { approvalRequestId?: string }).approvalRequestId === id && (data as { status: string }).status === 'executed'));

    // The organization's webhook heard of the request and of the decision, signed.
    const events = await waitFor('both webhook events', () => {
      const mine = receiver.deliveries.filter((delivery) => delivery.body.includes(id));
      return mine.length >= 2 ? mine : null;
    });
    expect(events.map((event) => (JSON.parse(event.body) as { type: string }).type).sort()).toEqual(['approval.created', 'approval.decided']);
    for (const event of events) expect(verifyWebhookSignature(HOOK_SECRET, event.body, String(event.headers['gatehouse-signature']))).toBe(true);
  });

  it('never runs a denied request, and tells why', async () => {
    const agent = await connect(KEYS.agent);
    const id = requestIdOf(textOf(await agent.callTool({ name: 'tools_write_note', arguments: { text: 'deny me' } })));
    const admin = await connect(KEYS.admin2);
    const denied = await admin.callTool({ name: 'gatehouse_deny_request', arguments: { id, reason: 'not this week' } });
    expect(denied.isError).toBeFalsy();
    expect(await approval(KEYS.agent, id)).toMatchObject({ status: 'denied', reason: 'not this week' });
    const late = await api<{ detail: string }>(KEYS.admin1, 'POST', `/api/v1/approvals/${id}/approve`, {});
    expect(late.status).toBe(409);
    expect(late.body.detail).toContain('already denied');
    expect(downstreamCalls('write_note')).toBe(1);
  });

  it('expires a request nobody decided, for good', async () => {
    const agent = await connect(KEYS.agent);
    const id = requestIdOf(textOf(await agent.callTool({ name: 'tools_slow', arguments: { ms: 1 } })));
    await waitFor('the expiry job', async () => (await approval(KEYS.admin1, id)).status === 'expired', 10_000);
    expect((await api(KEYS.admin1, 'POST', `/api/v1/approvals/${id}/approve`, {})).status).toBe(409);
    expect(downstreamCalls('slow')).toBe(0);
  });

  it('needs two different approvers when the rule says 2-of-N', async () => {
    const agent = await connect(KEYS.agent);
    expect(textOf(await agent.callTool({ name: 'tools_echo', arguments: { text: 'quiet' } }))).toBe('echo: quiet');
    const id = requestIdOf(textOf(await agent.callTool({ name: 'tools_echo', arguments: { text: 'LOUD noise' } })));
    expect(id).not.toBe('');
    expect((await api<Approval>(KEYS.admin1, 'POST', `/api/v1/approvals/${id}/approve`, {})).body).toMatchObject({ status: 'pending', approvals: 1 });
    const again = await api<{ detail: string }>(KEYS.admin1, 'POST', `/api/v1/approvals/${id}/approve`, {});
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('already decided');
    expect((await api<Approval>(KEYS.admin2, 'POST', `/api/v1/approvals/${id}/approve`, {})).body).toMatchObject({ status: 'approved', approvals: 2 });
    const done = await waitFor('the 2-of-N call to run', async () => ((await approval(KEYS.agent, id)).status === 'executed' ? approval(KEYS.agent, id) : null));
    expect(done.result?.content[0]?.text).toBe('echo: LOUD noise');
  });

  it('refuses self-approval, also through a second OAuth client of the same person', async () => {
    const aliceFirst = await tokenFor(ALICE);
    const aliceSecond = await tokenFor(ALICE);
    const requester = await connect(aliceFirst);
    const id = requestIdOf(textOf(await requester.callTool({ name: 'tools_write_note', arguments: { text: 'mine' } })));
    const self = await requester.callTool({ name: 'gatehouse_approve_request', arguments: { id } });
    expect(textOf(self)).toBe('Nobody approves their own request, whichever key or client they use');
    const viaOtherClient = await (await connect(aliceSecond)).callTool({ name: 'gatehouse_approve_request', arguments: { id } });
    expect(textOf(viaOtherClient)).toBe('Nobody approves their own request, whichever key or client they use');
    const bob = await connect(await tokenFor(BOB));
    const approvedByBob = JSON.parse(textOf(await bob.callTool({ name: 'gatehouse_approve_request', arguments: { id } }))) as { approval: Approval };
    expect(approvedByBob.approval.status).toBe('approved');
    expect(approvedByBob.approval.decisions).toEqual([expect.objectContaining({ approver: BOB.email, approved: true })]);
    await waitFor('Bob-approved call to run', async () => (await approval(KEYS.admin1, id)).status === 'executed');
  });

  it('runs the call exactly once when 20 approvals race, each answered even when they wait seconds for the database', async () => {
    const agent = await connect(KEYS.agent);
    const before = downstreamCalls('write_note');
    const id = requestIdOf(textOf(await agent.callTool({ name: 'tools_write_note', arguments: { text: 'race' } })));
    // The request's row held locked for 3 s, as a slow transaction would: the first ten decisions wait on it with
    // every connection of the gateway's pool, the other ten wait for a connection.
    const lock = await lockRows(gateway.databaseUrl, 'SELECT 1 FROM approval_requests WHERE id = $1 FOR UPDATE', [id]);
    const racing = Promise.all(
      Array.from({ length: 20 }, (_, i) => api<Approval>(i % 2 ? KEYS.admin1 : KEYS.admin2, 'POST', `/api/v1/approvals/${id}/approve`, {})),
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await lock.release();
    const replies = await racing;
    // Whatever else came back is shown whole.
    expect(replies.filter((reply) => reply.status !== 409 && reply.status !== 200).map((reply) => [reply.status, reply.body])).toEqual([]);
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1);
    expect(replies.filter((reply) => reply.status === 409)).toHaveLength(19);
    await waitFor('the raced call to run', async () => (await approval(KEYS.agent, id)).status === 'executed');
    // Give any duplicate a chance to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(downstreamCalls('write_note') - before).toBe(1);
  });
});
