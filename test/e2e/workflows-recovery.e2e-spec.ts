import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { JOBS, QUEUES } from '@gatehouse/config';
import { apiRequest } from '../support/admin-api';
import { createTestDatabase, query, redisPrefix } from '../support/database';
import { gatewayEnvironment, spawnGateway, SpawnedGateway, waitUntilReady } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { withPlatform } from '../support/platform';
import { fixtureStdioYaml, freePort } from '../support/servers';
import { REDIS_URL } from '../support/test-run';
import { waitFor } from '../support/wait';

// Built gateways killed and started again, one after the other, on 2 shared cores.
jest.setTimeout(240_000);

const KEYS = {
  admin: 'ghk_test_wfrecovery_admin_key_001',
  alice: 'ghk_test_wfrecovery_alice_key_002',
  bob: 'ghk_test_wfrecovery_bob_key_00003',
};
// Past the dead process's lease (15 s) and the sweep that follows (every 10 s): how long a run may take to settle
// after a restart.
const SETTLE_MS = 45_000;

interface Run {
  id: string;
  status: string;
  error: string | null;
  approvalRequestId: string | null;
  steps: { id: string; status: string; error: string | null }[];
}

// "A gateway process SIGKILLed in the middle of a run's step: after restart, the run is completed or failed by
// rule, and no step ran twice at the downstream." And: "Cancellation by the starter or an admin."
describe('workflow runs across a killed gateway, and cancelled', () => {
  const directory = mkdtempSync(join(tmpdir(), 'gatehouse-wf-recovery-'));
  const marker = join(directory, 'marker');
  const configPath = join(directory, 'gatehouse.yaml');
  let databaseUrl: string;
  let prefix: string;
  let baseUrl: string;
  let current: SpawnedGateway;
  const gateways: SpawnedGateway[] = [];
  const clients: Client[] = [];

  const start = async (): Promise<void> => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    current = spawnGateway(
      gatewayEnvironment({
        databaseUrl,
        redisPrefix: prefix,
        env: { PORT: String(port), PUBLIC_URL: baseUrl, GATEHOUSE_CONFIG: configPath, GATEHOUSE_MIGRATE: 'false', ADMIN: KEYS.admin, ALICE: KEYS.alice, BOB: KEYS.bob },
      }),
    );
    gateways.push(current);
    await waitUntilReady(current, baseUrl, 90_000);
    const client = await connect(KEYS.admin);
    await waitFor('the fixture tools', async () => (await listAllTools(client)).some((tool) => tool.name === 'fx_slow'), 60_000);
  };
  const kill = async (): Promise<void> => {
    current.child.kill('SIGKILL');
    await current.exited;
  };
  const connect = async (token: string): Promise<Client> => {
    const client = await connectClient(`${baseUrl}/mcp`, token);
    clients.push(client);
    return client;
  };
  const api = <T>(token: string, method: string, path: string, body?: unknown) => apiRequest<T>(baseUrl, token, method, path, body);
  const marks = (line: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((entry) => entry === line).length : 0);
  const startRun = async (token: string, workflow: string): Promise<Run> => {
    const response = await api<Run>(token, 'POST', `/api/v1/workflows/${workflow}/runs`, { inputs: {} });
    expect(response.status).toBe(201);
    return response.body;
  };
  const settled = (id: string, status: string, timeoutMs = SETTLE_MS) =>
    waitFor(
      `run ${id} to be ${status}`,
      async () => {
        const run = (await api<Run>(KEYS.admin, 'GET', `/api/v1/workflow-runs/${id}`)).body;
        return run.status === status ? run : null;
      },
      timeoutMs,
      250,
    );
  const story = async (id: string) =>
    (await query<{ kind: string }>(databaseUrl, `SELECT kind FROM audit_records WHERE target->>'id' = $1 AND kind LIKE 'workflow.run.%' ORDER BY id`, [id])).map((row) => row.kind);
  const define = async (name: string, steps: { id: string; tool: string; arguments: Record<string, unknown> }[]) =>
    expect((await api(KEYS.admin, 'POST', '/api/v1/workflows', { name, steps })).status).toBe(201);

  beforeAll(async () => {
    writeFileSync(
      configPath,
      withPlatform(`
organizations:
  - slug: acme
    name: Acme
    keyApprovals: true
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: alice, role: member, secretEnv: ALICE }
      - { name: bob, role: member, secretEnv: BOB }
    connections:
      - ${fixtureStdioYaml('fx', { FIXTURE_MARKER: marker })}
    policies:
      - name: announcements-need-approval
        match: { tools: [fx_write_note], arguments: [{ path: text, matches: "^ANNOUNCE" }] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 1, expiresIn: 1h }
`),
    );
    databaseUrl = await createTestDatabase();
    prefix = redisPrefix();
    await start();
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    for (const gateway of gateways) {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) {
        gateway.child.kill('SIGKILL');
        await gateway.exited;
      }
    }
  });

  it('fails a run whose gateway was SIGKILLed during step 2, with step 2 interrupted and called once, step 3 never', async () => {
    await define('killed-mid-step', [
      { id: 'first', tool: 'fx_echo', arguments: { text: 'before the kill' } },
      { id: 'wait', tool: 'fx_slow', arguments: { ms: 20_000 } },
      { id: 'after', tool: 'fx_write_note', arguments: { text: 'must never be written' } },
    ]);
    const run = await startRun(KEYS.alice, 'killed-mid-step');
    await waitFor('step 2 to reach the downstream', () => marks('call:slow') === 1, 30_000);
    await kill();

    await start();
    const failed = await settled(run.id, 'failed');
    expect(failed.steps.map((step) => [step.id, step.status])).toEqual([
      ['first', 'succeeded'],
      ['wait', 'interrupted'],
    ]);
    expect(failed.error).toBe('Step 2 ("wait") was interrupted: the process running it stopped during the call. It is not run again, since the call may have reached "fx_slow".');
    expect(marks('call:echo')).toBe(1);
    expect(marks('call:slow')).toBe(1);
    expect(marks('call:write_note')).toBe(0);
    expect(await story(run.id)).toEqual(['workflow.run.started', 'workflow.run.failed']);
  });

  it('runs a run whose process died before any step was in flight, from its first step, each step once', async () => {
    await define('left-queued', [
      { id: 'one', tool: 'fx_echo', arguments: { text: 'resumed' } },
      { id: 'two', tool: 'fx_write_note', arguments: { text: 'after a restart' } },
    ]);
    // The queue paused: the run is created and queued, and no gateway takes its job.
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUES.workflows, { connection, prefix: `${prefix}:bull` });
    try {
      await queue.pause();
      const echoes = marks('call:echo');
      const run = await startRun(KEYS.alice, 'left-queued');
      expect(run.status).toBe('queued');
      await kill();
      // As if the process died between creating the run and queueing its job: nothing will wake it but the sweep.
      const jobs = await queue.getJobs(['wait', 'paused', 'prioritized']);
      const wakes = jobs.filter((job) => job.name === JOBS.advanceWorkflow && job.data.runId === run.id);
      expect(wakes).toHaveLength(1);
      for (const job of wakes) await job.remove();
      await queue.resume();

      await start();
      const done = await settled(run.id, 'succeeded');
      expect(done.steps.map((step) => [step.id, step.status])).toEqual([
        ['one', 'succeeded'],
        ['two', 'succeeded'],
      ]);
      expect(marks('call:echo')).toBe(echoes + 1);
      expect(marks('call:write_note')).toBe(1);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('lets the starter cancel a running run over MCP: the call in flight is abandoned and no later step runs; another member may not', async () => {
    await define('cancel-me', [
      { id: 'wait', tool: 'fx_slow', arguments: { ms: 60_000 } },
      { id: 'after', tool: 'fx_write_note', arguments: { text: 'must never be written' } },
    ]);
    const slowCalls = marks('call:slow');
    const notes = marks('call:write_note');
    const run = await startRun(KEYS.alice, 'cancel-me');
    await waitFor('the slow step to reach the downstream', () => marks('call:slow') === slowCalls + 1, 30_000);

    // Bob, another member, does not see alice's run at all.
    expect((await api(KEYS.bob, 'POST', `/api/v1/workflow-runs/${run.id}/cancel`)).status).toBe(404);
    const bob = await connect(KEYS.bob);
    const refused = await bob.callTool({ name: 'gatehouse_cancel_workflow_run', arguments: { id: run.id } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('not found');

    const alice = await connect(KEYS.alice);
    const asked = await alice.callTool({ name: 'gatehouse_cancel_workflow_run', arguments: { id: run.id } });
    expect(asked.isError).toBeFalsy();
    const cancelled = await settled(run.id, 'cancelled', 30_000);
    expect(cancelled.steps.map((step) => [step.id, step.status])).toEqual([['wait', 'cancelled']]);
    expect(cancelled.error).toContain('Cancelled by alice');
    await waitFor('the downstream to hear the call cancelled', () => marks('cancelled:slow') === 1, 10_000);
    expect(marks('call:write_note')).toBe(notes);
    expect(await story(run.id)).toEqual(['workflow.run.started', 'workflow.run.cancel_requested', 'workflow.run.cancelled']);
  });

  it('lets an admin cancel a run waiting for approval at once; approving its request afterwards makes no call', async () => {
    await define('announce', [{ id: 'post', tool: 'fx_write_note', arguments: { text: 'ANNOUNCE v2 ships' } }]);
    const notes = marks('call:write_note');
    const run = await startRun(KEYS.alice, 'announce');
    const waiting = await settled(run.id, 'waiting_approval', 30_000);
    const requestId = waiting.approvalRequestId!;
    expect(requestId).toEqual(expect.any(String));

    const cancelled = await api<Run>(KEYS.admin, 'POST', `/api/v1/workflow-runs/${run.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.steps.map((step) => [step.id, step.status])).toEqual([['post', 'cancelled']]);
    expect(cancelled.body.error).toContain('Cancelled by admin');
    expect(await story(run.id)).toEqual(['workflow.run.started', 'workflow.run.paused', 'workflow.run.cancel_requested', 'workflow.run.cancelled']);

    // The approver had the request open: approving it now records it failed, and the held call is not made.
    expect((await api(KEYS.admin, 'POST', `/api/v1/approvals/${requestId}/approve`, {})).status).toBe(200);
    const request = await waitFor(
      'the approved request to end',
      async () => {
        const body = (await api<{ status: string; result: unknown }>(KEYS.admin, 'GET', `/api/v1/approvals/${requestId}`)).body;
        return body.status === 'approved' ? null : body;
      },
      30_000,
    );
    expect(request.status).toBe('failed');
    expect(textOf(request.result)).toMatch(/^The approved call was not made: its workflow run .* was cancelled \(Cancelled by admin\)\.$/);
    expect(marks('call:write_note')).toBe(notes);
    expect((await settled(run.id, 'cancelled')).steps.map((step) => step.status)).toEqual(['cancelled']);
  });
});
