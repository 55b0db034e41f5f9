import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { REDIS_URL } from '../support/test-run';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const KEYS = {
  admin: 'ghk_test_wf_schedule_admin_key_0001',
  alice: 'ghk_test_wf_schedule_alice_key_0002',
  robot: 'ghk_test_wf_schedule_robot_key_0003',
};
// Every two seconds (six fields: seconds first).
const EVERY_TWO_SECONDS = '*/2 * * * * *';

interface Run {
  id: string;
  workflow: string;
  status: string;
  trigger: string;
  startedBy: string;
  scheduledFor: string | null;
}

// Scheduled workflows on two gateway replicas sharing PostgreSQL and Redis: each fire is one BullMQ job (its id
// names the fire time) that one replica takes, and one run per fire time is all the database accepts.
describe('workflows: schedules', () => {
  let a: TestGateway;
  let b: TestGateway;
  let marks: { tracker: string; chat: string };
  let queue: Queue;
  let redis: Redis;

  const api = <T>(gateway: TestGateway, method: string, path: string, body?: unknown, token = KEYS.admin) => apiRequest<T>(gateway.baseUrl, token, method, path, body);
  const calls = (file: string, tool: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line === `call:${tool}`).length : 0);
  const runs = async (workflow: string) => (await api<Run[]>(a, 'GET', `/api/v1/workflow-runs?workflow=${workflow}&limit=200`)).body;
  const schedulerIds = async () => (await queue.getJobSchedulers()).map((scheduler) => scheduler.key);
  const workflowId = async (name: string) => (await query<{ id: string }>(a.databaseUrl, `SELECT id::text FROM workflows WHERE name = $1`, [name]))[0]!.id;
  const startedRecords = (name: string) =>
    query<{ scheduled_for: string }>(a.databaseUrl, `SELECT data->>'scheduledFor' AS scheduled_for FROM audit_records WHERE kind = 'workflow.run.started' AND target->>'workflow' = $1`, [name]);
  const workflow = (name: string, tool: string, text: string, schedule?: Record<string, unknown>) => ({
    name,
    steps: [{ id: 'ping', tool, arguments: { text } }],
    ...(schedule ? { schedule } : {}),
  });

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-wf-schedule-'));
    marks = { tracker: join(dir, 'tracker'), chat: join(dir, 'chat') };
    const yaml = `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: alice, role: member, secretEnv: ALICE }
      - { name: robot, role: member, secretEnv: ROBOT }
    connections:
      - ${fixtureStdioYaml('tracker', { FIXTURE_MARKER: marks.tracker })}
      - ${fixtureStdioYaml('chat', { FIXTURE_MARKER: marks.chat })}
`;
    const vars = { ADMIN: KEYS.admin, ALICE: KEYS.alice, ROBOT: KEYS.robot };
    a = await startGateway({ yaml, vars });
    b = await startGateway({ yaml, vars, databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    for (const gateway of [a, b]) {
      const client = await connectClient(gateway.mcpUrl, KEYS.admin);
      await waitFor('the fixture tools', async () => {
        const names = (await listAllTools(client)).map((tool) => tool.name);
        return names.includes('tracker_echo') && names.includes('chat_echo');
      }, 30_000);
      await client.close();
    }
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue('workflows', { connection: redis, prefix: `${a.redisPrefix}:bull` });
  });

  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await b?.close();
    await a?.close();
  });

  it('refuses a schedule it could not run, naming the field', async () => {
    const invalidCron = await api<{ detail?: string; message?: string }>(a, 'POST', '/api/v1/workflows', workflow('bad-cron', 'tracker_echo', 'x', { cron: '99 * * * *', runAs: 'robot' }));
    expect(invalidCron.status).toBe(400);
    expect(JSON.stringify(invalidCron.body)).toContain('schedule.cron');

    const fourFields = await api(a, 'POST', '/api/v1/workflows', workflow('bad-cron', 'tracker_echo', 'x', { cron: '0 9 * *', runAs: 'robot' }));
    expect(fourFields.status).toBe(400);
    expect(JSON.stringify(fourFields.body)).toContain('schedule.cron');

    const noKey = await api(a, 'POST', '/api/v1/workflows', workflow('no-key', 'tracker_echo', 'x', { cron: EVERY_TWO_SECONDS, runAs: 'nobody' }));
    expect(noKey.status).toBe(400);
    expect(JSON.stringify(noKey.body)).toContain('schedule.runAs: no API key named \\"nobody\\"');

    const adminsOnly = await api(a, 'POST', '/api/v1/workflows', { ...workflow('admins-only', 'tracker_echo', 'x', { cron: EVERY_TWO_SECONDS, runAs: 'robot' }), roles: ['admin'] });
    expect(adminsOnly.status).toBe(400);
    expect(JSON.stringify(adminsOnly.body)).toContain('schedule.runAs: API key \\"robot\\" has role member, which may not run this workflow');

    const needsInputs = await api(a, 'POST', '/api/v1/workflows', {
      ...workflow('needs-inputs', 'tracker_echo', '{{ inputs.team }}', { cron: EVERY_TWO_SECONDS, runAs: 'robot' }),
      inputs: { type: 'object', properties: { team: { type: 'string' } }, required: ['team'] },
    });
    expect(needsInputs.status).toBe(400);
    expect(JSON.stringify(needsInputs.body)).toContain('a scheduled run starts with no inputs');

    const saved = await query(a.databaseUrl, `SELECT name FROM workflows`);
    expect(saved).toEqual([]);
    expect((await schedulerIds()).filter((id) => id.startsWith('workflow-schedule:'))).toEqual([]);
  });

  it('A scheduled workflow runs at its time on exactly one of two replicas', async () => {
    // A second schedule on another connection: its fires after the first is deleted show time has passed.
    expect((await api(b, 'POST', '/api/v1/workflows', workflow('control', 'chat_echo', 'control', { cron: EVERY_TWO_SECONDS, runAs: 'robot' }))).status).toBe(201);
    const created = await api<{ schedule: unknown }>(a, 'POST', '/api/v1/workflows', workflow('tick', 'tracker_echo', 'tick', { cron: EVERY_TWO_SECONDS, timezone: 'Europe/Berlin', runAs: 'robot' }));
    expect(created.status).toBe(201);
    expect(created.body.schedule).toEqual({ cron: EVERY_TWO_SECONDS, timezone: 'Europe/Berlin', runAs: 'robot' });
    const tickId = await workflowId('tick');
    expect(await schedulerIds()).toContain(`workflow-schedule:${tickId}`);

    await waitFor('three scheduled runs of tick to succeed', async () => (await runs('tick')).filter((run) => run.status === 'succeeded').length >= 3, 30_000);
    // Taking the schedule off (a new version without one) removes its scheduler; the runs stay.
    const unscheduled = await api(b, 'PUT', '/api/v1/workflows/tick', workflow('tick', 'tracker_echo', 'tick'));
    expect(unscheduled.status).toBe(200);
    expect(await schedulerIds()).not.toContain(`workflow-schedule:${tickId}`);
    const finished = await waitFor('every tick run to finish', async () => {
      const all = await runs('tick');
      return all.every((run) => ['succeeded', 'failed', 'cancelled'].includes(run.status)) ? all : null;
    });

    const n = finished.length;
    expect(n).toBeGreaterThanOrEqual(3);
    expect(finished.every((run) => run.status === 'succeeded' && run.trigger === 'schedule' && run.startedBy === 'robot')).toBe(true);
    // One run per fire time, each fire time one of the schedule's (an even second).
    const fireTimes = finished.map((run) => run.scheduledFor!);
    expect(new Set(fireTimes).size).toBe(n);
    expect(fireTimes.every((time) => new Date(time).getUTCMilliseconds() === 0 && new Date(time).getUTCSeconds() % 2 === 0)).toBe(true);
    // Each run called the downstream once, whichever replica ran it (both fixtures write the one marker).
    expect(calls(marks.tracker, 'echo')).toBe(n);
    expect((await startedRecords('tick')).map((record) => record.scheduled_for).sort()).toEqual([...fireTimes].sort());

    // Scheduled again, then deleted: its scheduler goes, and no fire after the deletion starts a run.
    expect((await api(a, 'PUT', '/api/v1/workflows/tick', workflow('tick', 'tracker_echo', 'tick', { cron: EVERY_TWO_SECONDS, runAs: 'robot' }))).status).toBe(200);
    await waitFor('tick to run again', async () => (await runs('tick')).length > n, 30_000);
    expect((await api(b, 'DELETE', '/api/v1/workflows/tick')).status).toBe(204);
    const deletedAt = new Date();
    expect(await schedulerIds()).not.toContain(`workflow-schedule:${tickId}`);
    const controlFiresBefore = (await startedRecords('control')).length;
    await waitFor('control to fire three more times', async () => (await startedRecords('control')).length >= controlFiresBefore + 3, 30_000);
    const afterDeletion = (await startedRecords('tick')).filter((record) => new Date(record.scheduled_for) > deletedAt);
    expect(afterDeletion).toEqual([]);
    expect(await query(a.databaseUrl, `SELECT 1 FROM workflows WHERE name = 'tick'`)).toEqual([]);
  });

  it('refuses, and records, a fire whose key was revoked; the schedule goes with the workflow', async () => {
    const issued = await api<{ id: string; secret: string }>(a, 'POST', '/api/v1/api-keys', { name: 'nightly', role: 'member' });
    expect(issued.status).toBe(201);
    expect((await api(a, 'POST', '/api/v1/workflows', workflow('orphan', 'tracker_echo', 'orphan', { cron: EVERY_TWO_SECONDS, runAs: 'nightly' }))).status).toBe(201);
    await waitFor('a run of orphan as nightly', async () => (await runs('orphan')).some((run) => run.startedBy === 'nightly'), 30_000);
    expect((await api(a, 'DELETE', `/api/v1/api-keys/${issued.body.id}`)).status).toBe(200);
    const revokedAt = new Date();

    const refused = await waitFor('a refused fire of orphan', async () => {
      const rows = await query<{ outcome: string; reason: string; scheduled_for: string }>(
        a.databaseUrl,
        `SELECT outcome, data->>'reason' AS reason, data->>'scheduledFor' AS scheduled_for FROM audit_records WHERE kind = 'workflow.run.refused' AND target->>'name' = 'orphan'`,
      );
      return rows[0] ?? null;
    }, 30_000);
    expect(refused.outcome).toBe('denied');
    expect(refused.reason).toContain('revoked');
    // No run started for a fire after the revocation.
    expect((await runs('orphan')).filter((run) => new Date(run.scheduledFor!) > revokedAt)).toEqual([]);

    const id = await workflowId('orphan');
    expect((await api(a, 'DELETE', '/api/v1/workflows/orphan')).status).toBe(204);
    expect(await schedulerIds()).not.toContain(`workflow-schedule:${id}`);
  });
});
