import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const KEYS = { admin: 'ghk_test_wf_config_admin_key_00001', robot: 'ghk_test_wf_config_robot_key_00002' };

interface Workflow {
  name: string;
  version: number;
  configManaged: boolean;
  schedule?: unknown;
}
interface Run {
  id: string;
  status: string;
  trigger: string;
  startedBy: string;
}

// Workflows declared in the config file: saved as the file's (read-only through the API and the assistant tools),
// run like any other, scheduled at boot, and deleted when the file no longer declares them.
describe('workflows: from the config file', () => {
  let gateway: TestGateway;
  let marker: string;
  const vars = { ADMIN: KEYS.admin, ROBOT: KEYS.robot };
  const yaml = (workflows: string) => `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: robot, role: member, secretEnv: ROBOT }
    connections:
      - ${fixtureStdioYaml('tracker', { FIXTURE_MARKER: marker })}
${workflows}`;
  const declared = `    workflows:
      - name: triage
        description: Echoes the day's triage note
        inputs: { type: object, properties: { note: { type: string } }, required: [note] }
        steps:
          - { id: note, tool: tracker_echo, arguments: { text: "triage: {{ inputs.note }}" } }
      - name: heartbeat
        steps:
          - { id: beat, tool: tracker_echo, arguments: { text: beat } }
        schedule: { cron: "*/2 * * * * *", runAs: robot }
`;
  const api = <T>(method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, KEYS.admin, method, path, body);
  const echoes = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === 'call:echo').length : 0);

  beforeAll(async () => {
    marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-wf-config-')), 'tracker');
    gateway = await startGateway({ yaml: yaml(declared), vars });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('lists and runs a workflow from the file, which the API and assistants cannot change', async () => {
    const listed = (await api<Workflow[]>('GET', '/api/v1/workflows')).body;
    expect(listed.map((workflow) => [workflow.name, workflow.configManaged, workflow.version])).toEqual([
      ['heartbeat', true, 1],
      ['triage', true, 1],
    ]);

    const client = await connectClient(gateway.mcpUrl, KEYS.admin);
    await waitFor('the tracker', async () => (await listAllTools(client)).some((tool) => tool.name === 'tracker_echo'), 30_000);
    const started = await api<Run>('POST', '/api/v1/workflows/triage/runs', { inputs: { note: 'login is slow' } });
    expect(started.status).toBe(201);
    const run = await waitFor('the triage run to succeed', async () => {
      const current = (await api<Run & { result: { text: string } }>('GET', `/api/v1/workflow-runs/${started.body.id}`)).body;
      return current.status === 'succeeded' ? current : null;
    });
    expect(run.result.text).toContain('echo: triage: login is slow');

    const put = await api<{ detail?: string }>('PUT', '/api/v1/workflows/triage', { name: 'triage', steps: [{ id: 'x', tool: 'tracker_echo', arguments: { text: 'changed' } }] });
    expect(put.status).toBe(409);
    expect(JSON.stringify(put.body)).toContain('managed by the config file');
    expect((await api('DELETE', '/api/v1/workflows/triage')).status).toBe(409);
    const created = await client.callTool({ name: 'gatehouse_create_workflow', arguments: { name: 'triage', steps: [{ id: 'x', tool: 'tracker_echo', arguments: { text: 'mine' } }] } });
    expect(created.isError).toBe(true);
    expect(textOf(created)).toContain('Workflow "triage" is managed by the config file; change it there');
    expect((await api<Workflow>('GET', '/api/v1/workflows/triage')).body.version).toBe(1);
    await client.close();
  });

  it('runs the file\'s schedule as its runAs key', async () => {
    const runs = await waitFor('a scheduled heartbeat run to succeed', async () => {
      const all = (await api<Run[]>('GET', '/api/v1/workflow-runs?workflow=heartbeat')).body;
      return all.some((run) => run.status === 'succeeded') ? all : null;
    }, 30_000);
    expect(runs.every((run) => run.trigger === 'schedule' && run.startedBy === 'robot')).toBe(true);
    // The triage run's one call, and one per scheduled run that succeeded by then.
    expect(echoes()).toBeGreaterThanOrEqual(1 + runs.filter((run) => run.status === 'succeeded').length);
  });

  it('deletes a workflow taken out of the file on the next apply, and keeps the same file a no-op', async () => {
    await gateway.close();
    // The same file again: nothing changes (no new version).
    gateway = await startGateway({ yaml: yaml(declared), vars, databaseUrl: gateway.databaseUrl, redisPrefix: gateway.redisPrefix });
    expect((await api<Workflow>('GET', '/api/v1/workflows/triage')).body.version).toBe(1);
    await gateway.close();

    gateway = await startGateway({ yaml: yaml(''), vars, databaseUrl: gateway.databaseUrl, redisPrefix: gateway.redisPrefix });
    expect((await api<Workflow[]>('GET', '/api/v1/workflows')).body).toEqual([]);
    expect(await query(gateway.databaseUrl, `SELECT name FROM workflows`)).toEqual([]);
  });
});
