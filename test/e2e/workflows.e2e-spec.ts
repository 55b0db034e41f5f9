import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const KEYS = {
  admin: 'ghk_test_workflows_admin_key_0001',
  alice: 'ghk_test_workflows_alice_key_0002',
  carl: 'ghk_test_workflows_carl_key_00003',
  thrift: 'ghk_test_workflows_thrift_key_0004',
  auditor: 'ghk_test_workflows_auditor_key_005',
};

interface RunStep {
  index: number;
  id: string;
  status: string;
  callId: string | null;
  approvalRequestId: string | null;
  arguments: Record<string, unknown> | null;
}
interface Run {
  id: string;
  status: string;
  error: string | null;
  approvalRequestId: string | null;
  result: { outputs: Record<string, { status: string; text?: string; structured?: unknown }>; text: string } | null;
  steps: RunStep[];
}

const STANDUP = {
  name: 'daily-standup',
  description: 'Lists the team\'s items, summarises them and posts the summary',
  inputs: { type: 'object', properties: { team: { type: 'string' } }, required: ['team'] },
  steps: [
    { id: 'items', tool: 'tracker_echo', arguments: { text: '{{ inputs.team }}: fix login; ship v2' } },
    { id: 'summary', tool: 'tracker_echo', arguments: { text: 'Summary of {{ steps.items.structured.text }}' } },
    { id: 'post', tool: 'chat_write_note', arguments: { text: '{{ steps.summary.text }}' } },
  ],
};

// Workflows: saved multi-step tool runs, started from an assistant or the API, every step a governed call of the
// person who started the run, executed in the background by the gateway.
describe('workflows', () => {
  let gateway: TestGateway;
  let marks: { tracker: string; chat: string; ledger: string };
  const clients: Client[] = [];

  const connect = async (token: string) => {
    const client = await connectClient(gateway.mcpUrl, token);
    clients.push(client);
    return client;
  };
  const api = <T>(token: string, method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, token, method, path, body);
  const calls = (file: string, tool: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line === `call:${tool}`).length : 0);
  const runOf = (result: unknown) => (result as { structuredContent: { run: Run } }).structuredContent.run;
  const settled = (token: string, id: string, status: string) =>
    waitFor(`run ${id} to be ${status}`, async () => {
      const run = (await api<Run>(token, 'GET', `/api/v1/workflow-runs/${id}`)).body;
      return run.status === status ? run : null;
    });

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-workflows-'));
    marks = { tracker: join(dir, 'tracker'), chat: join(dir, 'chat'), ledger: join(dir, 'ledger') };
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    keyApprovals: true
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: alice, role: member, secretEnv: ALICE }
      - { name: carl, role: contractor, secretEnv: CARL }
      - { name: auditor, role: auditor, secretEnv: AUDITOR }
    connections:
      - ${fixtureStdioYaml('tracker', { FIXTURE_MARKER: marks.tracker })}
      - ${fixtureStdioYaml('chat', { FIXTURE_MARKER: marks.chat })}
    policies:
      - name: contractors-stay-off-chat
        match: { roles: [contractor], connections: [chat] }
        effect: deny
      - name: no-secrets-in-the-tracker
        match: { tools: [tracker_echo], arguments: [{ path: text, matches: "SECRET" }] }
        effect: deny
      - name: announcements-need-approval
        match: { tools: [chat_write_note], arguments: [{ path: text, matches: "^ANNOUNCE" }] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
  - slug: thrift
    name: Thrift
    apiKeys:
      - { name: owner, role: owner, secretEnv: THRIFT }
    connections:
      - ${fixtureStdioYaml('ledger', { FIXTURE_MARKER: marks.ledger })}
    costs:
      - { connection: ledger, perCallUsd: 0.10 }
    budgets:
      - { scope: organization, period: month, limitUsd: 1 }
`,
      vars: { ADMIN: KEYS.admin, ALICE: KEYS.alice, CARL: KEYS.carl, AUDITOR: KEYS.auditor, THRIFT: KEYS.thrift },
    });
    await waitFor('the fixture tools', async () => {
      const names = (await listAllTools(await connect(KEYS.admin))).map((tool) => tool.name);
      return names.includes('tracker_echo') && names.includes('chat_write_note');
    }, 30_000);
    await waitFor('the ledger', async () => (await listAllTools(await connect(KEYS.thrift))).some((tool) => tool.name === 'ledger_echo'), 30_000);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await gateway?.close();
  });

  it('runs "daily standup" from an assistant: three steps on two connections, each called once, the result in the same call', async () => {
    const admin = await connect(KEYS.admin);
    const created = await admin.callTool({ name: 'gatehouse_create_workflow', arguments: STANDUP });
    expect(created.isError).toBeFalsy();

    const alice = await connect(KEYS.alice);
    const listed = await alice.callTool({ name: 'gatehouse_list_workflows', arguments: {} });
    expect(textOf(listed)).toContain('daily-standup');
    const progress: string[] = [];
    const executed = await alice.callTool(
      { name: 'gatehouse_execute_workflow', arguments: { name: 'daily-standup', inputs: { team: 'core' } } },
      undefined,
      { onprogress: (update) => progress.push(update.message ?? ''), timeout: 60_000 },
    );
    expect(executed.isError).toBeFalsy();
    const run = runOf(executed);
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((step) => [step.id, step.status])).toEqual([
      ['items', 'succeeded'],
      ['summary', 'succeeded'],
      ['post', 'succeeded'],
    ]);
    // The summary used the first step's structured result; the post, the summary's text.
    expect(run.result!.outputs['summary']!.text).toBe('echo: Summary of core: fix login; ship v2');
    expect(run.steps[2]!.arguments).toEqual({ text: 'echo: Summary of core: fix login; ship v2' });
    expect(calls(marks.tracker, 'echo')).toBe(2);
    expect(calls(marks.chat, 'write_note')).toBe(1);
    expect(progress.length).toBeGreaterThan(0);

    // Every step is a tools/call of alice's, linked to the run; the run's records tell its story.
    const stepCalls = await query<{ call_id: string; actor: string; step: number }>(
      gateway.databaseUrl,
      `SELECT call_id::text, actor->>'name' AS actor, (data->>'workflowStep')::int AS step FROM audit_records
       WHERE kind = 'tools.call.request' AND data->>'workflowRunId' = $1 ORDER BY id`,
      [run.id],
    );
    expect(stepCalls.map((row) => [row.actor, row.step])).toEqual([
      ['alice', 0],
      ['alice', 1],
      ['alice', 2],
    ]);
    expect(run.steps.map((step) => step.callId)).toEqual(stepCalls.map((row) => row.call_id));
    const story = await query<{ kind: string }>(gateway.databaseUrl, `SELECT kind FROM audit_records WHERE target->>'id' = $1 AND kind LIKE 'workflow.%' ORDER BY id`, [run.id]);
    expect(story.map((row) => row.kind)).toEqual([
      'workflow.run.started',
      'workflow.step.started',
      'workflow.step.succeeded',
      'workflow.step.started',
      'workflow.step.succeeded',
      'workflow.step.started',
      'workflow.step.succeeded',
      'workflow.run.succeeded',
    ]);
  });

  it('refuses invalid definitions when saved, naming the step and the field', async () => {
    const refused = async (steps: unknown[], inputs?: unknown) => {
      const response = await api<{ detail: string }>(KEYS.admin, 'POST', '/api/v1/workflows', { name: 'broken', steps, ...(inputs ? { inputs } : {}) });
      expect(response.status).toBe(400);
      return response.body.detail;
    };
    expect(await refused([{ id: 'a', tool: 'tracker_nope', arguments: {} }])).toMatch(/step 1 \("a"\).*tracker_nope/);
    expect(await refused([{ id: 'a', tool: 'tracker_echo', arguments: { text: '{{ steps.b.text }}' } }, { id: 'b', tool: 'tracker_echo', arguments: { text: 'x' } }])).toMatch(
      /step 1 \("a"\), arguments\.text: .*"b".*cycle/,
    );
    expect(await refused([{ id: 'a', tool: 'tracker_echo', arguments: { text: '{{ inputs.missing }}' } }], { type: 'object', properties: { team: { type: 'string' } } })).toMatch(
      /step 1 \("a"\), arguments\.text: .*missing/,
    );
    expect(await refused([{ id: 'a', tool: 'tracker_echo', arguments: { text: 42 } }])).toMatch(/step 1 \("a"\).*text.*string/);
    expect(await refused([{ id: 'a', tool: 'tracker_echo', arguments: { text: '{{ steps.a.text }}' } }])).toMatch(/step 1 \("a"\).*cycle/);
    expect(await refused([{ id: 'a', tool: 'gatehouse_execute_workflow', arguments: {} }])).toMatch(/step 1 \("a"\)/);
    // Nothing was saved.
    expect((await api(KEYS.admin, 'GET', '/api/v1/workflows/broken')).status).toBe(404);
  });

  it('refuses hostile definitions with a clear 400: too many steps, arguments nested past reason, an inputs schema that reaches out', async () => {
    const step = (index: number) => ({ id: `s${index}`, tool: 'tracker_echo', arguments: { text: 'x' } });
    const tooMany = await api<{ detail: string }>(KEYS.admin, 'POST', '/api/v1/workflows', { name: 'hostile', steps: Array.from({ length: 51 }, (_, index) => step(index)) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.detail).toMatch(/steps/);
    let deep: Record<string, unknown> = { text: 'x' };
    for (let level = 0; level < 200; level++) deep = { nested: deep };
    const nested = await api<{ detail: string }>(KEYS.admin, 'POST', '/api/v1/workflows', { name: 'hostile', steps: [{ id: 'a', tool: 'tracker_echo', arguments: { text: 'x', extra: deep } }] });
    expect(nested.status).toBe(400);
    expect(nested.body.detail).toMatch(/step 1 \("a"\)/);
    const remote = await api<{ detail: string }>(KEYS.admin, 'POST', '/api/v1/workflows', {
      name: 'hostile',
      inputs: { type: 'object', properties: { team: { $ref: 'http://169.254.169.254/latest/meta-data' } } },
      steps: [step(1)],
    });
    expect(remote.status).toBe(400);
    expect(remote.body.detail).toContain('JSON Schema cannot be used');
    const duplicate = await api<{ detail: string }>(KEYS.admin, 'POST', '/api/v1/workflows', { name: 'hostile', steps: [step(1), step(1)] });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.detail).toContain('used twice');
    expect((await api(KEYS.admin, 'GET', '/api/v1/workflows/hostile')).status).toBe(404);
  });

  it('pauses at a step that needs approval, and runs the step once when approved, however many approve at once', async () => {
    const announce = {
      name: 'announce',
      inputs: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
      steps: [
        { id: 'draft', tool: 'tracker_echo', arguments: { text: 'ANNOUNCE {{ inputs.message }}' } },
        { id: 'post', tool: 'chat_write_note', arguments: { text: 'ANNOUNCE {{ inputs.message }}' } },
      ],
    };
    expect((await api(KEYS.admin, 'POST', '/api/v1/workflows', announce)).status).toBe(201);
    const before = calls(marks.chat, 'write_note');
    const alice = await connect(KEYS.alice);
    const started = runOf(await alice.callTool({ name: 'gatehouse_execute_workflow', arguments: { name: 'announce', inputs: { message: 'v2 ships' }, waitSeconds: 30 } }));
    expect(started.status).toBe('waiting_approval');
    expect(started.steps.map((step) => [step.id, step.status])).toEqual([
      ['draft', 'succeeded'],
      ['post', 'waiting_approval'],
    ]);
    const requestId = started.approvalRequestId!;
    expect(requestId).toEqual(started.steps[1]!.approvalRequestId);

    // Twenty approvals at once, through the workflow's tool and the inbox's API: one is recorded, the step runs once.
    const admin = await connect(KEYS.admin);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        index % 2 === 0
          ? api(KEYS.admin, 'POST', `/api/v1/approvals/${requestId}/approve`, {}).then((response) => response.status)
          : admin.callTool({ name: 'gatehouse_approve_workflow_run', arguments: { id: started.id } }).then((result) => (result.isError ? 409 : 200)),
      ),
    );
    expect(answers.filter((status) => status === 200)).toHaveLength(1);
    const done = await settled(KEYS.alice, started.id, 'succeeded');
    expect(done.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded']);
    expect(calls(marks.chat, 'write_note')).toBe(before + 1);
    const kinds = await query<{ kind: string }>(gateway.databaseUrl, `SELECT kind FROM audit_records WHERE target->>'id' = $1 AND kind LIKE 'workflow.run.%' ORDER BY id`, [started.id]);
    expect(kinds.map((row) => row.kind)).toEqual(['workflow.run.started', 'workflow.run.paused', 'workflow.run.resumed', 'workflow.run.succeeded']);
  });

  it('holds a workflow that needs approval before its first step, and runs it once approved', async () => {
    const guarded = { ...STANDUP, name: 'guarded-standup', approval: { approverRoles: ['admin'], approvals: 1, expiresIn: '1h' } };
    expect((await api(KEYS.admin, 'POST', '/api/v1/workflows', guarded)).status).toBe(201);
    expect((await api<{ approval: { expiresIn: number } }>(KEYS.alice, 'GET', '/api/v1/workflows/guarded-standup')).body.approval).toMatchObject({ expiresIn: 3600 });
    const tracker = calls(marks.tracker, 'echo');
    const alice = await connect(KEYS.alice);
    const held = runOf(await alice.callTool({ name: 'gatehouse_execute_workflow', arguments: { name: 'guarded-standup', inputs: { team: 'ops' }, waitSeconds: 1 } }));
    expect(held.status).toBe('waiting_approval');
    expect(held.steps).toEqual([]);
    const request = (await api<{ tool: string; status: string }>(KEYS.admin, 'GET', `/api/v1/approvals/${held.approvalRequestId}`)).body;
    expect(request).toMatchObject({ tool: 'gatehouse_execute_workflow', status: 'pending' });
    // The starter cannot approve their own run.
    const own = await alice.callTool({ name: 'gatehouse_approve_workflow_run', arguments: { id: held.id } });
    expect(own.isError).toBe(true);
    expect(calls(marks.tracker, 'echo')).toBe(tracker);

    const admin = await connect(KEYS.admin);
    expect((await admin.callTool({ name: 'gatehouse_approve_workflow_run', arguments: { id: held.id } })).isError).toBeFalsy();
    const done = await settled(KEYS.alice, held.id, 'succeeded');
    expect(done.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(calls(marks.tracker, 'echo')).toBe(tracker + 2);
  });

  it('will not let a contractor run a workflow with a step they could not call, and fails a run whose step the policy denies, naming the rule', async () => {
    const open = { ...STANDUP, name: 'standup-for-everyone', roles: ['member', 'contractor'] };
    expect((await api(KEYS.admin, 'POST', '/api/v1/workflows', open)).status).toBe(201);
    const carl = await connect(KEYS.carl);
    const refused = await carl.callTool({ name: 'gatehouse_execute_workflow', arguments: { name: 'standup-for-everyone', inputs: { team: 'core' } } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('step 3 ("post") calls "chat_write_note", which policy rule "contractors-stay-off-chat" denies you');
    expect(await query(gateway.databaseUrl, `SELECT 1 FROM workflow_runs WHERE workflow_name = 'standup-for-everyone'`)).toHaveLength(0);

    // Allowed when started, denied when its arguments are known: the run fails at that step, naming the rule.
    const trackerBefore = calls(marks.tracker, 'echo');
    const alice = await connect(KEYS.alice);
    const run = runOf(await alice.callTool({ name: 'gatehouse_execute_workflow', arguments: { name: 'daily-standup', inputs: { team: 'SECRET' } } }));
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^Step 1 \("items"\) failed: Permission denied: .*\(policy rule "no-secrets-in-the-tracker"\)/);
    expect(run.steps.map((step) => step.status)).toEqual(['failed']);
    expect(calls(marks.tracker, 'echo')).toBe(trackerBefore);
  });

  it('counts every step against the budget: a 15-step run at $0.10 a call under $1.00 stops at step 11 with the budget message', async () => {
    const steps = Array.from({ length: 15 }, (_, index) => ({ id: `s${index + 1}`, tool: 'ledger_echo', arguments: { text: `entry ${index + 1}` } }));
    expect((await api(KEYS.thrift, 'POST', '/api/v1/workflows', { name: 'ledger-close', steps })).status).toBe(201);
    const owner = await connect(KEYS.thrift);
    const run = runOf(await owner.callTool({ name: 'gatehouse_execute_workflow', arguments: { name: 'ledger-close', waitSeconds: 60 } }, undefined, { timeout: 90_000 }));
    expect(run.status).toBe('failed');
    expect(run.steps).toHaveLength(11);
    expect(run.steps.slice(0, 10).every((step) => step.status === 'succeeded')).toBe(true);
    expect(run.steps[10]!.status).toBe('failed');
    expect(run.error).toMatch(/^Step 11 \("s11"\) failed: .*budget/i);
    expect(calls(marks.ledger, 'echo')).toBe(10);
  });

  it('keeps organizations and roles apart', async () => {
    const [run] = await query<{ id: string }>(gateway.databaseUrl, `SELECT id::text FROM workflow_runs WHERE workflow_name = 'daily-standup' LIMIT 1`);
    // Another organization's key sees neither acme's workflows nor its runs.
    expect((await api(KEYS.thrift, 'GET', '/api/v1/workflows/daily-standup')).status).toBe(404);
    expect((await api(KEYS.thrift, 'GET', `/api/v1/workflow-runs/${run!.id}`)).status).toBe(404);
    expect((await api(KEYS.thrift, 'POST', `/api/v1/workflow-runs/${run!.id}/cancel`)).status).toBe(404);
    expect((await api(KEYS.thrift, 'POST', '/api/v1/workflows/daily-standup/runs', { inputs: { team: 'x' } })).status).toBe(404);
    // Nor can it change or delete them, or validate a definition against acme's tools (it sees only its own).
    expect((await api(KEYS.thrift, 'PUT', '/api/v1/workflows/daily-standup', STANDUP)).status).toBe(404);
    expect((await api(KEYS.thrift, 'DELETE', '/api/v1/workflows/daily-standup')).status).toBe(404);
    const foreign = await api<{ valid: boolean; problems: { message: string }[] }>(KEYS.thrift, 'POST', '/api/v1/workflows/validate', STANDUP);
    expect(foreign.body.valid).toBe(false);
    expect(foreign.body.problems[0]!.message).toMatch(/step 1 \("items"\).*tracker_echo/);
    expect((await api(KEYS.admin, 'GET', '/api/v1/workflows/daily-standup')).status).toBe(200);
    // Members run workflows but do not define, change, validate or delete them; auditors read them and run nothing.
    expect((await api(KEYS.alice, 'POST', '/api/v1/workflows', { ...STANDUP, name: 'mine' })).status).toBe(403);
    expect((await api(KEYS.alice, 'PUT', '/api/v1/workflows/daily-standup', STANDUP)).status).toBe(403);
    expect((await api(KEYS.alice, 'POST', '/api/v1/workflows/validate', STANDUP)).status).toBe(403);
    expect((await api(KEYS.alice, 'DELETE', '/api/v1/workflows/daily-standup')).status).toBe(403);
    expect((await api(KEYS.auditor, 'GET', '/api/v1/workflows/daily-standup')).status).toBe(200);
    expect((await api(KEYS.auditor, 'PUT', '/api/v1/workflows/daily-standup', STANDUP)).status).toBe(403);
    // Hostile bodies: a rename through PUT, a name that is no name, an unknown field.
    expect((await api(KEYS.admin, 'PUT', '/api/v1/workflows/daily-standup', { ...STANDUP, name: 'other' })).status).toBe(400);
    expect((await api(KEYS.admin, 'GET', '/api/v1/workflows/..%2F..%2Fetc')).status).toBe(404);
    expect((await api(KEYS.admin, 'POST', '/api/v1/workflows/validate', { ...STANDUP, owner: 'someone' })).status).toBe(400);
    expect((await api(KEYS.auditor, 'GET', `/api/v1/workflow-runs/${run!.id}`)).status).toBe(200);
    expect((await api(KEYS.auditor, 'POST', '/api/v1/workflows/daily-standup/runs', { inputs: { team: 'x' } })).status).toBe(403);
    // A run's inputs are checked against the workflow's schema.
    const bad = await api<{ detail: string }>(KEYS.alice, 'POST', '/api/v1/workflows/daily-standup/runs', { inputs: { team: 7 } });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('inputs.team');
  });
});
