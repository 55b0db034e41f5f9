import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest, connectionHealth } from '../support/admin-api';
import { spawnConfiguredGateway, SpawnedGateway, startGateway, stopSpawned, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const execFileAsync = promisify(execFile);
const BYSTANDER = join(__dirname, '..', 'fixtures', 'bystander.mjs');

const KEYS = { attacker: 'ghk_test_hostile_attacker_admin_01', bystander: 'ghk_test_hostile_bystander_member2' };
const LONG_TOOL = `x_${'a'.repeat(60)}`;
const HOSTILE_GLOB = '*a*a*a*a*a*a*a*a*b';
const HOSTILE_TEXT = `${'a'.repeat(40)}!`;
// How long each attack runs while the other organization's requests are timed, and the most any of them may take.
const ATTACK_MS = 4_000;
const BYSTANDER_MAX_MS = 100;

// Organization A (attacker) has a hostile downstream and an admin who writes hostile patterns; organization B
// (bystander) shares the gateway and must not notice.
const YAML = `
organizations:
  - slug: attacker
    name: Attacker
    apiKeys: [{ name: admin, role: admin, secretEnv: ATTACKER }]
    connections:
      - ${fixtureStdioYaml('x', { FIXTURE_HOSTILE: '1' })}
  - slug: bystander
    name: Bystander
    apiKeys: [{ name: member, role: member, secretEnv: BYSTANDER }]
    connections:
      - ${fixtureStdioYaml('gx')}
`;

interface Health {
  name: string;
  toolCount: number;
  toolListError: string | null;
  rejectedTools: string[];
}

// The linear-time matching issue ("one policy glob freezes every tenant"), made for real: real downstreams, the
// admin API, and the bystander's tools/list timed while the attacker keeps calling.
describe('hostile patterns', () => {
  // The gateway and the bystander each a process of its own, as in production: the latency measured is the gateway's,
  // not this test process's, whose event loop runs the attacker's client and jest.
  let gateway: { baseUrl: string; mcpUrl: string; process: SpawnedGateway };
  let attacker: Client;

  /**
   * Runs `attack` in a loop for ATTACK_MS while the bystander, a process of its own (test/fixtures/bystander.mjs), times
   * every tools/list of its organization; returns the counts and the slowest listing.
   */
  async function underAttack(attack: () => Promise<void>): Promise<{ attacks: number; slowest: number; listings: number }> {
    const bystander = execFileAsync(process.execPath, [BYSTANDER, gateway.mcpUrl, KEYS.bystander, String(ATTACK_MS), 'gx_echo']);
    const until = Date.now() + ATTACK_MS;
    let attacks = 0;
    while (Date.now() < until) {
      await attack();
      attacks++;
    }
    const measured = JSON.parse((await bystander).stdout) as { timings: number[]; missing: number };
    expect(measured.missing).toBe(0);
    const result = { attacks, slowest: Math.round(Math.max(...measured.timings)), listings: measured.timings.length };
    console.log(`${expect.getState().currentTestName}: ${result.attacks} attacks; bystander ${result.listings} listings, slowest ${result.slowest} ms`);
    return result;
  }

  const setPolicy = (policy: unknown) => apiRequest<{ detail?: string }>(gateway.baseUrl, KEYS.attacker, 'PUT', '/api/v1/policies', policy);

  beforeAll(async () => {
    const spawned = await spawnConfiguredGateway(YAML, { ATTACKER: KEYS.attacker, BYSTANDER: KEYS.bystander });
    gateway = { baseUrl: spawned.baseUrl, mcpUrl: `${spawned.baseUrl}/mcp`, process: spawned.gateway };
    attacker = await connectClient(gateway.mcpUrl, KEYS.attacker);
    const bystander = await connectClient(gateway.mcpUrl, KEYS.bystander);
    await waitFor(
      'both organizations to list their tools',
      async () => (await listAllTools(attacker)).some((tool) => tool.name === LONG_TOOL) && (await listAllTools(bystander)).some((tool) => tool.name === 'gx_echo'),
      60_000,
    );
    await bystander.close();
  });

  afterAll(async () => {
    await attacker?.close();
    if (gateway) await stopSpawned(gateway.process);
  });

  it('keeps the bystander answered within 100 ms while a glob that backtracks exponentially is matched', async () => {
    const saved = await setPolicy({
      rules: [{ name: 'hostile-glob', match: { tools: [HOSTILE_GLOB] }, effect: 'deny' }],
      toolClasses: [{ tools: HOSTILE_GLOB, class: 'destructive' }],
    });
    expect(saved.status).toBe(200);

    const result = await underAttack(async () => {
      expect((await listAllTools(attacker)).map((tool) => tool.name)).toContain(LONG_TOOL);
      // The glob does not match (no "b"), so the tool is neither denied nor classified destructive: it runs.
      expect(textOf(await attacker.callTool({ name: LONG_TOOL, arguments: {} }))).toBe(`called ${'a'.repeat(60)}`);
    });
    expect(result.attacks).toBeGreaterThan(5);
    expect(result.listings).toBeGreaterThan(20);
    expect(result.slowest).toBeLessThan(BYSTANDER_MAX_MS);
  });

  it('refuses arguments against a downstream pattern that backtracks exponentially, at once and clearly', async () => {
    const result = await underAttack(async () => {
      const refused = await attacker.callTool({ name: 'x_anchored', arguments: { text: HOSTILE_TEXT } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toBe('Invalid arguments for "x_anchored": text must match pattern "^(a+)+$".');
    });
    expect(result.attacks).toBeGreaterThan(5);
    expect(result.slowest).toBeLessThan(BYSTANDER_MAX_MS);
    expect(textOf(await attacker.callTool({ name: 'x_anchored', arguments: { text: 'aaaa' } }))).toBe('called anchored');
  });

  it('applies a policy pattern that backtracks exponentially in linear time', async () => {
    expect((await setPolicy({ rules: [{ name: 'no-runs-of-a', match: { arguments: [{ path: 'text', matches: '(a+)+$' }] }, effect: 'deny' }] })).status).toBe(200);
    const result = await underAttack(async () => {
      // Ends in "!", so the pattern does not match and the call goes through.
      expect(textOf(await attacker.callTool({ name: 'x_echo', arguments: { text: HOSTILE_TEXT } }))).toBe(`echo: ${HOSTILE_TEXT}`);
    });
    expect(result.attacks).toBeGreaterThan(5);
    expect(result.slowest).toBeLessThan(BYSTANDER_MAX_MS);
    const denied = await attacker.callTool({ name: 'x_echo', arguments: { text: 'aaaa' } });
    expect(textOf(denied)).toBe('Permission denied: role admin may not call "x_echo" (policy rule "no-runs-of-a").');
  });

  it('refuses a policy pattern RE2 cannot run, saying why', async () => {
    const refused = await setPolicy({ rules: [{ name: 'repeated', match: { arguments: [{ path: 'text', matches: '^(\\w+)\\1$' }] }, effect: 'deny' }] });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain('must be a valid regular expression in RE2 syntax: backreferences (\\1, \\k<name>) are not supported');
  });

  it('leaves out tools over a limit or with a pattern RE2 cannot run, and says which in the health', async () => {
    const x = await connectionHealth<Health>(gateway.baseUrl, KEYS.attacker, 'x');
    expect([...x.rejectedTools].sort()).toEqual(['backreference', 'deep_schema', 'huge_schema']);
    expect(x.toolListError).toBeNull();
    const listed = (await listAllTools(attacker)).map((tool) => tool.name);
    expect(listed).toEqual(expect.arrayContaining(['x_anchored', LONG_TOOL]));
    expect(listed.filter((name) => ['x_backreference', 'x_deep_schema', 'x_huge_schema'].includes(name))).toEqual([]);
  });
});

// Its own gateway: storing a list of 1000 tools blocks the event loop for a while (Prisma compiles the batch
// synchronously), which must not be mistaken for a pattern stall above.
describe('a downstream with more tools than a connection may serve', () => {
  const KEY = 'ghk_test_hostile_many_admin_key_03';
  let gateway: TestGateway;
  let client: Client;

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: many
    name: Many
    apiKeys: [{ name: admin, role: admin, secretEnv: MANY }]
    connections:
      - ${fixtureStdioYaml('many', { FIXTURE_HOSTILE_FILLER: '1005' })}
`,
      vars: { MANY: KEY },
    });
    client = await connectClient(gateway.mcpUrl, KEY);
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
  });

  it('serves the first 1000 and says in the health that the rest were left out', async () => {
    const health = await waitFor('the connection to list its tools', async () => {
      const current = await connectionHealth<Health>(gateway.baseUrl, KEY, 'many');
      return current.toolCount > 0 ? current : null;
    }, 60_000);
    expect(health.toolCount).toBe(1000);
    expect(health.toolListError).toBe(
      'The downstream lists more than 1000 tools, the limit per connection: the first 1000 are served and the rest were left out',
    );
    const listed = (await listAllTools(client)).map((tool) => tool.name).filter((name) => name.startsWith('many_'));
    expect(listed).toHaveLength(1000);
    // The downstream's own order: its 8 ordinary tools, then fillers up to the limit.
    expect(listed.at(-1)).toBe('many_filler_991');
  });
});
