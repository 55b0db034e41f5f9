import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest, connectionHealth } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { childProcesses, EVERYTHING, FIXTURE_SERVER, fixtureStdioYaml, processExited } from '../support/servers';
import { waitFor } from '../support/wait';

const KEY = 'ghk_test_supervision_admin_key_0001';
const SHUTDOWN_KEY = 'ghk_test_supervision_shutdown_key_0002';

interface Health {
  id: string;
  name: string;
  status: string;
  enabled: boolean;
  pid: number | null;
  restarts: number;
  lastError: string | null;
}

interface ConnectionView {
  id: string;
  name: string;
  enabled: boolean;
}

// A stdio fixture as the admin API takes it. The extra argument (ignored by the server) tags its command line.
function fixtureSpec(name: string, tag: string, extra: Record<string, unknown> = {}) {
  return { name, transport: 'stdio', command: process.execPath, args: [FIXTURE_SERVER, 'stdio', tag], ...extra };
}

// Longer than the root 60 s: this suite waits on spawned processes and reconnects on a small, shared machine.
jest.setTimeout(180_000);

describe('supervision of stdio child processes', () => {
  let gateway: TestGateway;
  let client: Client;

  const api = <T>(method: string, path: string, body?: unknown) =>
    apiRequest<T>(gateway.baseUrl, KEY, method, `/api/v1/connections${path}`, body);


  const healthByName = (name: string) => connectionHealth<Health>(gateway.baseUrl, KEY, name);


  async function echo(name: string, text: string): Promise<string> {
    const result = await client.callTool({ name: `${name}_echo`, arguments: { text } });
    if (result.isError) throw new Error(textOf(result));
    return textOf(result);
  }

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - ${fixtureStdioYaml('victim')}
`,
      vars: { ACME_KEY: KEY },
    });
    client = await connectClient(gateway.mcpUrl, KEY);
    await waitFor(
      'the victim connection to list its tools',
      async () => (await listAllTools(client)).some((tool) => tool.name === 'victim_echo'),
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
  });

  it('restarts a stdio server killed with SIGKILL: new pid, calls served, restarts counted', async () => {
    const before = await healthByName('victim');
    expect(before.status).toBe('connected');
    expect(before.pid).toEqual(expect.any(Number));
    expect(childProcesses(FIXTURE_SERVER)).toContain(before.pid);
    const byId = await api<Health>('GET', `/${before.id}/health`);
    expect(byId.body).toMatchObject({ name: 'victim', pid: before.pid, restarts: before.restarts });

    process.kill(before.pid!, 'SIGKILL');
    await waitFor('the killed process to be gone', () => processExited(before.pid!));

    const after = await waitFor(
      'the connection to come back with a new process',
      async () => {
        const { body } = await api<Health>('GET', `/${before.id}/health`);
        return body.status === 'connected' && body.pid !== null && body.pid !== before.pid ? body : null;
      },
      30_000,
      100,
    );
    expect(after.restarts).toBeGreaterThan(before.restarts);
    expect(processExited(after.pid!)).toBe(false);
    expect(childProcesses(FIXTURE_SERVER)).toEqual([after.pid]);
    expect(await waitFor('the restarted server to answer', () => echo('victim', 'alive again'), 30_000, 200)).toBe(
      'echo: alive again',
    );
  });

  it('create/delete cycles through the admin API leave no child process behind', async () => {
    const baseline = childProcesses(FIXTURE_SERVER).length;
    for (let cycle = 0; cycle < 4; cycle++) {
      const tag = `cycle-${cycle}`;
      const names = [0, 1, 2].map((index) => `cycle${cycle}-conn${index}`);
      const created: ConnectionView[] = [];
      for (const name of names) {
        const { status, body } = await api<ConnectionView>('POST', '', fixtureSpec(name, tag));
        expect(status).toBe(201);
        created.push(body);
      }
      // Odd cycles delete at once, racing the start-up; even cycles let every connection come up and answer first.
      if (cycle % 2 === 0) {
        await waitFor(
          `the ${tag} connections to answer`,
          async () => (await Promise.all(names.map((name) => echo(name, tag)))).every((text) => text === `echo: ${tag}`),
          30_000,
          200,
        );
        expect(childProcesses(tag)).toHaveLength(3);
        expect(childProcesses(FIXTURE_SERVER)).toHaveLength(baseline + 3);
      }
      for (const connection of created) {
        const { status } = await api<undefined>('DELETE', `/${connection.id}`);
        expect(status).toBe(204);
      }
      await waitFor(`the ${tag} child processes to exit`, () => childProcesses(tag).length === 0, 30_000);
      await waitFor(
        `the fixture child processes to return to the baseline of ${baseline} after ${tag}`,
        () => childProcesses(FIXTURE_SERVER).length === baseline,
        30_000,
      );
      const tools = (await listAllTools(client)).map((tool) => tool.name);
      expect(tools.filter((tool) => tool.startsWith(`cycle${cycle}-`))).toEqual([]);
    }
    // Deleted connections are not restarted later by a backoff timer either.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(childProcesses('cycle-')).toEqual([]);
    expect(childProcesses(FIXTURE_SERVER)).toHaveLength(baseline);
  });

  it('stops the child when a connection is disabled (PUT enabled: false) and starts it again when re-enabled', async () => {
    const tag = 'toggled-tag';
    const created = await api<ConnectionView>('POST', '', fixtureSpec('toggled', tag));
    expect(created.status).toBe(201);
    await waitFor('the toggled connection to answer', () => echo('toggled', 'on'), 30_000, 200);
    const [first] = childProcesses(tag);
    expect(first).toEqual(expect.any(Number));
    expect((await api<Health>('GET', `/${created.body.id}/health`)).body.pid).toBe(first);

    const disabled = await api<ConnectionView>('PUT', `/${created.body.id}`, fixtureSpec('toggled', tag, { enabled: false }));
    expect(disabled.status).toBe(200);
    expect(disabled.body.enabled).toBe(false);
    await waitFor('the disabled connection to stop its child', () => childProcesses(tag).length === 0, 30_000);
    await waitFor('the disabled connection\'s process to be gone', () => processExited(first!), 30_000);
    const health = (await api<Health>('GET', `/${created.body.id}/health`)).body;
    expect(health).toMatchObject({ enabled: false, status: 'disabled', pid: null });
    expect((await listAllTools(client)).map((tool) => tool.name)).not.toContain('toggled_echo');

    const enabled = await api<ConnectionView>('PUT', `/${created.body.id}`, fixtureSpec('toggled', tag, { enabled: true }));
    expect(enabled.status).toBe(200);
    await waitFor('the re-enabled connection to answer', () => echo('toggled', 'on again'), 30_000, 200);
    expect(childProcesses(tag)).toHaveLength(1);

    expect((await api<undefined>('DELETE', `/${created.body.id}`)).status).toBe(204);
    await waitFor('the deleted connection to stop its child', () => childProcesses(tag).length === 0, 30_000);
  });

  it('applies a change before answering: once DELETE or PUT enabled:false has answered, the child has exited', async () => {
    // ConnectionService applies a change in this process before it answers, and closing a stdio connection
    // reaps its child; so by the time the API answers, the process must be gone (no waiting needed).
    for (const [index, how] of (['delete', 'disable'] as const).entries()) {
      const tag = `answered-${how}`;
      const spec = fixtureSpec(`answered-${index}`, tag);
      const created = await api<ConnectionView>('POST', '', spec);
      expect(created.status).toBe(201);
      await waitFor(`the ${tag} connection to answer`, () => echo(spec.name, 'up'), 30_000, 200);
      expect(childProcesses(tag)).toHaveLength(1);
      // A call in flight keeps the fixture alive after its stdin closes, so closing takes a moment (the SDK
      // escalates to SIGTERM): the API must still not answer before the process is gone.
      const inFlight = client.callTool({ name: `${spec.name}_slow`, arguments: { ms: 60_000 } });
      await waitFor('the slow call to be in flight', async () => (await api<Health & { inFlight: number }>('GET', `/${created.body.id}/health`)).body.inFlight === 1);

      const answered =
        how === 'delete'
          ? await api<undefined>('DELETE', `/${created.body.id}`)
          : await api<ConnectionView>('PUT', `/${created.body.id}`, { ...spec, enabled: false });
      const leftBehind = childProcesses(tag);
      expect(answered.status).toBe(how === 'delete' ? 204 : 200);
      if (how === 'disable') await api<undefined>('DELETE', `/${created.body.id}`);
      await waitFor(`the ${tag} child to exit in the end`, () => childProcesses(tag).length === 0, 30_000);
      const interrupted = await inFlight;
      expect(interrupted.isError).toBe(true);
      expect(textOf(interrupted)).toContain(`"${spec.name}"`);
      expect({ how, leftBehind }).toEqual({ how, leftBehind: [] });
    }
  });

  it('deleting a connection whose server never answers initialize stops its child without waiting out the connect timeout', async () => {
    const tag = 'mute-tag';
    const created = await api<ConnectionView>('POST', '', { ...fixtureSpec('mute', tag), args: [FIXTURE_SERVER, 'silent', tag], connectTimeoutMs: 60_000 });
    expect(created.status).toBe(201);
    const [pid] = await waitFor('the silent server to be started', () => {
      const pids = childProcesses(tag);
      return pids.length === 1 ? pids : null;
    });
    expect((await api<Health>('GET', `/${created.body.id}/health`)).body.status).toBe('connecting');

    const deleting = api<undefined>('DELETE', `/${created.body.id}`);
    try {
      // Far less than the 60 s connect timeout: deleting must not wait for initialize to time out.
      await waitFor('the silent server to be stopped', () => childProcesses(tag).length === 0 && processExited(pid!), 20_000);
    } finally {
      expect((await deleting).status).toBe(204);
    }
    await waitFor('the silent server to be gone', () => processExited(pid!), 30_000);
  });

  it('closing the gateway leaves no child process behind, even with a call in flight and a server that never answers', async () => {
    const tag = 'shutdown-tag';
    const node = JSON.stringify(process.execPath);
    const second = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: SHUTDOWN_KEY }]
    connections:
      - { name: one, transport: stdio, command: ${node}, args: [${JSON.stringify(FIXTURE_SERVER)}, stdio, ${tag}] }
      - { name: two, transport: stdio, command: ${node}, args: [${JSON.stringify(FIXTURE_SERVER)}, stdio, ${tag}] }
      - { name: everything, transport: stdio, command: ${node}, args: [${JSON.stringify(EVERYTHING)}, stdio, ${tag}] }
      - { name: mute, transport: stdio, command: ${node}, args: [${JSON.stringify(FIXTURE_SERVER)}, silent, ${tag}], connectTimeoutMs: 60000 }
`,
      vars: { SHUTDOWN_KEY },
    });
    let closing: Promise<void> | null = null;
    const secondClient = await connectClient(second.mcpUrl, SHUTDOWN_KEY);
    try {
      await waitFor(
        'the second gateway to list its tools',
        async () => {
          const names = (await listAllTools(secondClient)).map((tool) => tool.name);
          return ['one_slow', 'two_echo', 'everything_echo'].every((name) => names.includes(name));
        },
        60_000,
      );
      const pids = await waitFor('all four servers to be running', () => {
        const found = childProcesses(tag);
        return found.length === 4 ? found : null;
      });

      const inFlight = secondClient.callTool({ name: 'one_slow', arguments: { ms: 60_000 } }).catch((error: unknown) => error);
      await waitFor('the slow call to be in flight', async () => (await connectionHealth<Health & { inFlight: number }>(second.baseUrl, SHUTDOWN_KEY, 'one')).inFlight === 1);
      await secondClient.close();
      closing = second.close();
      // Far less than mute's 60 s connect timeout: shutdown must not wait for initialize to time out.
      await waitFor('every child of the closing gateway to exit', () => childProcesses(tag).length === 0, 20_000);
      await closing;
      await inFlight;
      await waitFor('every child of the closed gateway to be gone', () => pids.every((pid) => processExited(pid)), 30_000);
      // The first gateway's child is untouched.
      expect(await echo('victim', 'unaffected')).toBe('echo: unaffected');
    } finally {
      if (!closing) {
        await secondClient.close();
        closing = second.close();
      }
      await closing;
    }
  });
});
