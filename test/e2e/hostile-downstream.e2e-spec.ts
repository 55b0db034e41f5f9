import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectionHealth } from '../support/admin-api';
import { spawnConfiguredGateway, SpawnedGateway, stopSpawned } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { memory, resetPeakMemory } from '../support/process-memory';
import { HOSTILE_SERVER, RunningServer, startFixtureHttp, startHostileHttp } from '../support/servers';
import { waitFor } from '../support/wait';

const ACME_KEY = 'ghk_test_hostile_acme_admin_key_0001';
const BETA_KEY = 'ghk_test_hostile_beta_admin_key_0002';
// What a hostile downstream may cost the gateway's resident memory, over its baseline.
const MEMORY_BUDGET_MB = 300;
const IDLE_MS = 1_000;
const DEADLINE_MS = 3_000;
const STDERR_LINE_BYTES = 1_024;
// Generous for 2 shared cores; what each case really took is printed.
const CALL_BUDGET_MS = 30_000;

interface Health {
  name: string;
  status: string;
  pid: number | null;
  restarts: number;
}

interface Served {
  organization: string;
  ms: number;
  answer: string;
}

// The spawned gateway, its clients in two organizations, and a well-behaved connection in each that is called
// over and over while the hostile downstreams do their worst.
jest.setTimeout(300_000);

describe('hostile downstreams: capped replies and deadlines, the gateway unharmed', () => {
  let hostileHttp: RunningServer;
  let hostileSse: RunningServer;
  let steady: RunningServer;
  let gateway: SpawnedGateway | undefined;
  let acme: Client;
  let beta: Client;
  let pid: number;
  // The gateway's RSS once it has served every connection once, before any hostile call.
  let suiteBaselineMb: number;
  let baseUrl: string;

  // hostile-*: the default caps and timeouts; endless-*: the same servers with a short idle timeout and deadline.
  const hostile = (name: string, transport: 'http' | 'sse' | 'stdio', url: string | null, extra: string) =>
    `{ name: ${name}, transport: ${transport}, ${
      url ? `url: "${url}"` : `command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(HOSTILE_SERVER)}, stdio]`
    }${extra} }`;
  const timeouts = `, callTimeoutMs: ${IDLE_MS}, callDeadlineMs: ${DEADLINE_MS}`;

  // Runs `run` while each organization calls its well-behaved connection over and over, from the start to the
  // end of it (so at least once); every one of those calls must be answered, correctly and promptly.
  async function whileServing<T>(run: () => Promise<T>): Promise<T> {
    const served: Served[] = [];
    let done = false;
    const serving = Promise.all(
      (['acme', 'beta'] as const).map(async (organization) => {
        const client = organization === 'acme' ? acme : beta;
        do {
          const started = Date.now();
          const answer = await client.callTool({ name: 'steady_echo', arguments: { text: organization } }).then(
            (result) => (result.isError ? `error: ${textOf(result)}` : textOf(result)),
            (error: unknown) => `failed: ${String(error)}`,
          );
          served.push({ organization, ms: Date.now() - started, answer });
          await new Promise((resolve) => setTimeout(resolve, 50));
        } while (!done);
      }),
    );
    const value = await run().finally(() => (done = true));
    await serving;
    expect(served.filter(({ organization, answer }) => answer !== `echo: ${organization}`)).toEqual([]);
    expect(new Set(served.map((call) => call.organization))).toEqual(new Set(['acme', 'beta']));
    const slowest = Math.max(...served.map((call) => call.ms));
    console.log(`  meanwhile: ${served.length} well-behaved calls of two organizations answered, the slowest in ${slowest} ms`);
    expect(slowest).toBeLessThan(CALL_BUDGET_MS);
    return value;
  }

  async function echo(connection: string, text: string): Promise<string> {
    const result = await acme.callTool({ name: `${connection}_echo`, arguments: { text } });
    if (result.isError) throw new Error(textOf(result));
    return textOf(result);
  }

  // Runs one hostile call with the gateway's peak memory reset before it: its peak may pass neither the RSS
  // before the call nor the suite's baseline by MEMORY_BUDGET_MB.
  async function measured<T>(label: string, run: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const baseline = memory(pid).rss;
    resetPeakMemory(pid);
    const started = Date.now();
    const value = await run();
    const ms = Date.now() - started;
    const { hwm, rss } = memory(pid);
    const signed = (mb: number) => `${mb >= 0 ? '+' : ''}${mb.toFixed(0)} MB`;
    console.log(
      `${label}: ${ms} ms; gateway RSS before ${baseline.toFixed(0)} MB, peak ${hwm.toFixed(0)} MB (${signed(hwm - baseline)}; ` +
        `${signed(hwm - suiteBaselineMb)} over the suite's baseline of ${suiteBaselineMb.toFixed(0)} MB), after ${rss.toFixed(0)} MB`,
    );
    expect(hwm - baseline).toBeLessThan(MEMORY_BUDGET_MB);
    expect(hwm - suiteBaselineMb).toBeLessThan(MEMORY_BUDGET_MB);
    return { value, ms };
  }

  beforeAll(async () => {
    [hostileHttp, hostileSse, steady] = await Promise.all([startHostileHttp('http'), startHostileHttp('sse'), startFixtureHttp()]);
    ({ gateway, baseUrl } = await spawnConfiguredGateway(
      `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - ${hostile('hostile-http', 'http', hostileHttp.url, '')}
      - ${hostile('hostile-sse', 'sse', hostileSse.url, '')}
      - ${hostile('hostile-stdio', 'stdio', null, `, maxStderrLineBytes: ${STDERR_LINE_BYTES}`)}
      - ${hostile('endless-http', 'http', hostileHttp.url, timeouts)}
      - ${hostile('endless-sse', 'sse', hostileSse.url, timeouts)}
      - ${hostile('endless-stdio', 'stdio', null, timeouts)}
      - { name: steady, transport: http, url: "${steady.url}" }
  - slug: beta
    name: Beta
    apiKeys: [{ name: admin, role: admin, secretEnv: BETA_KEY }]
    connections:
      - { name: steady, transport: http, url: "${steady.url}" }
`,
      // stderr lines of stdio servers are logged at info.
      { LOG_LEVEL: 'info', ACME_KEY, BETA_KEY },
    ));
    pid = gateway!.child.pid!;
    [acme, beta] = await Promise.all([connectClient(`${baseUrl}/mcp`, ACME_KEY), connectClient(`${baseUrl}/mcp`, BETA_KEY)]);
    await waitFor(
      'every connection to list its tools',
      async () => {
        const [acmeTools, betaTools] = await Promise.all([listAllTools(acme), listAllTools(beta)]);
        const names = new Set([...acmeTools, ...betaTools].map((tool) => tool.name));
        const wanted = ['hostile', 'endless'].flatMap((prefix) => ['http', 'sse', 'stdio'].map((transport) => `${prefix}-${transport}_huge`));
        return [...wanted, 'steady_echo'].every((name) => names.has(name)) && betaTools.some((tool) => tool.name === 'steady_echo');
      },
      60_000,
    );
    // Warm up the paths the cases use, so the baseline is the gateway's working size, not its start-up size.
    for (const connection of ['hostile-http', 'hostile-sse', 'hostile-stdio', 'endless-http', 'endless-sse', 'endless-stdio']) {
      expect(await echo(connection, 'warm')).toBe('echo: warm');
    }
    suiteBaselineMb = memory(pid).rss;
  }, 180_000);

  afterAll(async () => {
    await Promise.all([acme?.close(), beta?.close()]);
    if (gateway) await stopSpawned(gateway);
    await Promise.all([hostileHttp?.stop(), hostileSse?.stop(), steady?.stop()]);
  });

  const health = (name: string) => connectionHealth<Health>(baseUrl, ACME_KEY, name);

  it.each([
    ['hostile-http', 'huge', 'a reply larger than 16 MiB (maxReplyBytes)'],
    ['hostile-http', 'huge_event', 'a server-sent event larger than 16 MiB (maxSseEventBytes)'],
    ['hostile-stdio', 'huge', 'a reply larger than 16 MiB (maxReplyBytes)'],
    ['hostile-sse', 'huge', 'a server-sent event larger than 16 MiB (maxSseEventBytes)'],
  ])('%s answering %s with 600 MB: the call fails at the cap, memory stays flat, everyone else is served', async (connection, tool, what) => {
    const before = await health(connection);
    const { value: result, ms } = await whileServing(() =>
      measured(`${connection} ${tool} (600 MB)`, () => acme.callTool({ name: `${connection}_${tool}`, arguments: {} }, undefined, { timeout: 120_000 })),
    );
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(`Connection "${connection}" sent ${what}; the call was stopped`);
    expect(ms).toBeLessThan(CALL_BUDGET_MS);

    // The same connection serves a normal call again: over streamable HTTP on the same session, over stdio
    // and legacy SSE once the supervisor has replaced the session (and the child process) it dropped.
    const again = await whileServing(() => waitFor(`${connection} to answer again`, () => echo(connection, 'again'), 30_000, 200));
    expect(again).toBe('echo: again');
    const after = await health(connection);
    expect(after.status).toBe('connected');
    if (connection === 'hostile-http') {
      expect(after.restarts).toBe(before.restarts);
    } else {
      expect(after.restarts).toBeGreaterThan(before.restarts);
    }
    if (connection === 'hostile-stdio') expect(after.pid).not.toBe(before.pid);
  });

  it.each(['endless-http', 'endless-stdio', 'endless-sse'])(
    '%s sending progress every 100 ms forever: the call fails at its deadline, which progress does not extend',
    async (connection) => {
      let progress = 0;
      const { value: result, ms } = await whileServing(() =>
        measured(`${connection} progress_forever`, () =>
          acme.callTool({ name: `${connection}_progress_forever`, arguments: {} }, undefined, {
            onprogress: () => progress++,
            timeout: 120_000,
          }),
        ),
      );
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(
        `Connection "${connection}" did not finish the call within its ${DEADLINE_MS} ms deadline (callDeadlineMs); the call was stopped`,
      );
      // Progress kept the idle timeout (1 s) from firing for the whole deadline (3 s), and was relayed.
      expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS);
      // Generous for a loaded machine: without the deadline the call would go on until the test timed out.
      expect(ms).toBeLessThan(DEADLINE_MS + 10_000);
      expect(progress).toBeGreaterThanOrEqual(10);
      expect(await echo(connection, 'after the deadline')).toBe('echo: after the deadline');
    },
  );

  it('cuts an over-long stderr line to maxStderrLineBytes and logs it, never holding the 256 MB line', async () => {
    const { value: result } = await whileServing(() =>
      measured('hostile-stdio stderr_flood (256 MB line)', () =>
        acme.callTool({ name: 'hostile-stdio_stderr_flood', arguments: {} }, undefined, { timeout: 120_000 }),
      ),
    );
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('flooded');
    const logged = await waitFor('the cut stderr line in the gateway log', () => {
      const lines = gateway!
        .output()
        .split('\n')
        .filter((line) => line.includes('FLOOD-START'));
      return lines.length ? lines.map((line) => JSON.parse(line) as { stream?: string; cutAtBytes?: number; msg?: string }) : null;
    });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ stream: 'stderr', cutAtBytes: STDERR_LINE_BYTES });
    expect(logged[0]!.msg).toBe(`FLOOD-START ${'A'.repeat(STDERR_LINE_BYTES - 'FLOOD-START '.length)}`);
  });
});
