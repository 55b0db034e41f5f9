import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { query } from '../support/database';
import { apiRequest, connectionHealth } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { fixtureStdioYaml, RunningServer, startFixtureHttp } from '../support/servers';
import { waitFor } from '../support/wait';

// Gateways start real servers on 2 shared cores: hooks and tests get minutes, not jest's 5 s default.
const SLOW = 180_000;
const EXPOSED_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const FIXTURE_TOOLS = ['echo', 'write_note', 'slow', 'crash', 'count', 'add_tool', 'rename_tool', 'fail'];
const AWKWARD_TOOLS = [`create_${'very_long_segment_'.repeat(5)}issue`, 'repos.list', 'repos/list', 'weird name!'];
// The longest connection name DESIGN.md allows: it leaves the least room for the tool part.
const LONG_CONNECTION = 'long-connection-name-of-32-chars';

interface Health {
  id: string;
  name: string;
  status: string;
  toolsStale: boolean;
  toolCount: number;
  pid: number | null;
}

async function healthOf(gateway: TestGateway, key: string, connection: string): Promise<Health> {
  const { id } = await connectionHealth<Health & { id: string }>(gateway.baseUrl, key, connection);
  const single = await apiRequest<Health>(gateway.baseUrl, key, 'GET', `/api/v1/connections/${id}/health`);
  expect(single.status).toBe(200);
  return single.body;
}

const namesOf = (tools: Tool[]) => tools.map((tool) => tool.name);

describe('the tool catalog', () => {
  describe('long and invalid downstream tool names', () => {
    const KEY = 'ghk_test_catalog_names_admin_key_0001';
    const yaml = `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - ${fixtureStdioYaml('names', { FIXTURE_NAMES: '1' })}
      - ${fixtureStdioYaml(LONG_CONNECTION, { FIXTURE_NAMES: '1' })}
`;
    let gateway: TestGateway | undefined;
    let client: Client | undefined;

    const everyToolListed = async (c: Client) => {
      const tools = (await listAllTools(c)).filter((tool) => !tool.name.startsWith('gatehouse_'));
      return tools.length === 2 * (FIXTURE_TOOLS.length + AWKWARD_TOOLS.length) ? tools : null;
    };

    afterAll(async () => {
      await client?.close();
      await gateway?.close();
    }, SLOW);

    it('exposes valid, distinct, routable names that keep the original and survive a restart', async () => {
      expect(LONG_CONNECTION).toHaveLength(32);
      gateway = await startGateway({ yaml, vars: { ACME_KEY: KEY } });
      client = await connectClient(gateway.mcpUrl, KEY);
      const tools = await waitFor('both connections to list their tools', () => everyToolListed(client!), 30_000);

      const names = namesOf(tools);
      expect(new Set(names).size).toBe(names.length);
      for (const tool of tools) {
        expect(tool.name.length).toBeLessThanOrEqual(64);
        expect(tool.name).toMatch(EXPOSED_NAME);
      }

      for (const connection of ['names', LONG_CONNECTION]) {
        const own = tools.filter((tool) => tool._meta?.['io.gatehouse/connection'] === connection);
        expect(own.map((tool) => tool._meta?.['io.gatehouse/tool']).sort()).toEqual([...FIXTURE_TOOLS, ...AWKWARD_TOOLS].sort());
        for (const tool of own) {
          const original = tool._meta!['io.gatehouse/tool'] as string;
          // The connection prefix is kept whole, so the first underscore still routes.
          expect(tool.name.startsWith(`${connection}_`)).toBe(true);
          if (tool.name !== `${connection}_${original}`) expect(tool.title).toBe(original);
        }
        for (const original of AWKWARD_TOOLS) {
          const tool = own.find((candidate) => candidate._meta?.['io.gatehouse/tool'] === original)!;
          expect(tool.name).not.toBe(`${connection}_${original}`);
          expect(tool.title).toBe(original);
          const result = await client.callTool({ name: tool.name, arguments: {} });
          expect(result.isError).toBeFalsy();
          expect(textOf(result)).toBe(`called ${original}`);
        }
      }

      await client.close();
      client = undefined;
      const { databaseUrl, redisPrefix } = gateway;
      await gateway.close();
      gateway = await startGateway({ yaml, vars: { ACME_KEY: KEY }, databaseUrl, redisPrefix });
      client = await connectClient(gateway.mcpUrl, KEY);
      const restarted = await waitFor('the restarted gateway to list every tool', () => everyToolListed(client!), 30_000);
      expect(namesOf(restarted).sort()).toEqual([...names].sort());
      const longest = restarted.find((tool) => tool._meta?.['io.gatehouse/tool'] === AWKWARD_TOOLS[0] && tool.name.startsWith(LONG_CONNECTION))!;
      expect(textOf(await client.callTool({ name: longest.name, arguments: {} }))).toBe(`called ${AWKWARD_TOOLS[0]}`);
    }, SLOW);
  });

  describe('tool list changes', () => {
    const ACME_KEY = 'ghk_test_catalog_changes_acme_key_0001';
    const ACME_OTHER_KEY = 'ghk_test_catalog_changes_acme_key_0002';
    const GLOBEX_KEY = 'ghk_test_catalog_changes_globex_key_0001';
    let gateway: TestGateway;
    const clients: Client[] = [];
    const notices = new Map<Client, number>();

    async function connectCounting(key: string): Promise<Client> {
      const client = await connectClient(gateway.mcpUrl, key);
      clients.push(client);
      notices.set(client, 0);
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        notices.set(client, notices.get(client)! + 1);
      });
      return client;
    }

    beforeAll(async () => {
      gateway = await startGateway({
        yaml: `
# New tool names are listed at once here (holdNewTools: false): this suite is about how a change reaches
# sessions; tool-pinning covers holding them for review.
organizations:
  - slug: acme
    name: Acme
    holdNewTools: false
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_KEY }
      - { name: other, role: member, secretEnv: ACME_OTHER_KEY }
    connections:
      - ${fixtureStdioYaml('fixture')}
      - ${fixtureStdioYaml('second')}
  - slug: globex
    name: Globex
    holdNewTools: false
    apiKeys: [{ name: admin, role: admin, secretEnv: GLOBEX_KEY }]
    connections:
      - ${fixtureStdioYaml('fixture')}
`,
        vars: { ACME_KEY, ACME_OTHER_KEY, GLOBEX_KEY },
      });
    }, SLOW);

    afterAll(async () => {
      await Promise.allSettled(clients.map((client) => client.close()));
      await gateway?.close();
    }, SLOW);

    it('notifies every session of the organization, and no other, and lists the new tool', async () => {
      const alice = await connectCounting(ACME_KEY);
      const other = await connectCounting(ACME_OTHER_KEY);
      const globex = await connectCounting(GLOBEX_KEY);
      for (const [client, wanted] of [
        [alice, ['fixture_add_tool', 'second_add_tool']],
        [other, ['fixture_add_tool', 'second_add_tool']],
        [globex, ['fixture_add_tool']],
      ] as const) {
        await waitFor('the connections to list their tools', async () => {
          const names = namesOf(await listAllTools(client));
          return wanted.every((name) => names.includes(name));
        }, 30_000);
      }
      // Start-up itself announces tools; count only what the change below causes.
      await waitFor('start-up notices to settle', async () => {
        const before = [...notices.values()].join();
        await new Promise((resolve) => setTimeout(resolve, 300));
        return [...notices.values()].join() === before;
      });
      notices.forEach((_count, client) => notices.set(client, 0));

      const added = await alice.callTool({ name: 'fixture_add_tool', arguments: { name: 'late_tool' } });
      expect(textOf(added)).toBe('added late_tool');
      await waitFor('both Acme sessions to receive notifications/tools/list_changed', () =>
        notices.get(alice)! >= 1 && notices.get(other)! >= 1,
      );
      for (const client of [alice, other]) {
        const names = namesOf(await listAllTools(client));
        expect(names).toContain('fixture_late_tool');
        expect(names).not.toContain('second_late_tool');
      }
      const late = await other.callTool({ name: 'fixture_late_tool', arguments: {} });
      expect(late.isError).toBeFalsy();
      expect(textOf(late)).toBe('called late_tool');
      expect(namesOf(await listAllTools(globex))).not.toContain('fixture_late_tool');

      // Notices reach a session in order: once Globex's own change arrives, an Acme notice would have too.
      await globex.callTool({ name: 'fixture_add_tool', arguments: { name: 'globex_tool' } });
      await waitFor('the Globex session to receive its own notice', () => notices.get(globex)! >= 1);
      expect(notices.get(globex)).toBe(1);
      expect(namesOf(await listAllTools(globex))).toContain('fixture_globex_tool');
      expect(namesOf(await listAllTools(alice))).not.toContain('fixture_globex_tool');
    }, SLOW);
  });

  describe('pagination', () => {
    const KEY = 'ghk_test_catalog_pages_admin_key_0001';
    let gateway: TestGateway;
    let client: Client;

    beforeAll(async () => {
      gateway = await startGateway({
        yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - ${fixtureStdioYaml('fixture')}
      - ${fixtureStdioYaml('paged', { FIXTURE_PAGE_SIZE: '2', FIXTURE_NAMES: '1' })}
`,
        vars: { ACME_KEY: KEY },
        env: { GATEHOUSE_TOOLS_PAGE_SIZE: '3' },
      });
      client = await connectClient(gateway.mcpUrl, KEY);
      await waitFor('both connections to list their tools', async () => {
        const names = namesOf(await listAllTools(client));
        return names.includes('fixture_fail') && names.includes('paged_fail');
      }, 30_000);
    }, SLOW);

    afterAll(async () => {
      await client?.close();
      await gateway?.close();
    }, SLOW);

    it('serves tools/list in pages whose union is the whole list, and refuses a garbage cursor', async () => {
      const pages: Tool[][] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {});
        pages.push(page.tools);
        cursor = page.nextCursor;
        expect(page.tools.length).toBe(cursor ? 3 : page.tools.length);
        expect(page.tools.length).toBeLessThanOrEqual(3);
        expect(page.tools.length).toBeGreaterThan(0);
      } while (cursor && pages.length < 100);
      expect(cursor).toBeUndefined();
      expect(pages.length).toBeGreaterThan(2);

      const union = namesOf(pages.flat());
      expect(new Set(union).size).toBe(union.length);
      const expected = [
        ...FIXTURE_TOOLS.map((tool) => `fixture_${tool}`),
        ...FIXTURE_TOOLS.map((tool) => `paged_${tool}`),
      ];
      expect(union).toEqual(expect.arrayContaining([...expected, 'gatehouse_list_connections', 'gatehouse_get_connection_health']));
      expect(union.filter((name) => !name.startsWith('gatehouse_'))).toHaveLength(2 * FIXTURE_TOOLS.length + AWKWARD_TOOLS.length);

      for (const garbage of ['garbage', Buffer.from(JSON.stringify({ o: -1 })).toString('base64url')]) {
        const failure = await client.listTools({ cursor: garbage }).then(
          () => null,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(McpError);
        expect((failure as McpError).code).toBe(ErrorCode.InvalidParams);
      }
    }, SLOW);

    it('follows the downstream nextCursor: every page of a paginated server is listed', async () => {
      const expected = [...FIXTURE_TOOLS, ...AWKWARD_TOOLS];
      const paged = (await listAllTools(client)).filter((tool) => tool._meta?.['io.gatehouse/connection'] === 'paged');
      expect(paged.map((tool) => tool._meta?.['io.gatehouse/tool']).sort()).toEqual([...expected].sort());
      expect(textOf(await client.callTool({ name: 'paged_echo', arguments: { text: 'last page too' } }))).toBe('echo: last page too');
      const health = await healthOf(gateway, KEY, 'paged');
      expect(health.toolCount).toBe(expected.length);
    }, SLOW);
  });

  describe('the last good tool list', () => {
    const KEY = 'ghk_test_catalog_cache_admin_key_0001';
    let remote: RunningServer | undefined;
    let gateway: TestGateway | undefined;
    let client: Client | undefined;

    afterAll(async () => {
      await client?.close();
      await gateway?.close();
      await remote?.stop();
    }, SLOW);

    it('serves the stored list, marked stale, while the downstream is down, and fails calls fast', async () => {
      remote = await startFixtureHttp();
      const yaml = `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_KEY }]
    connections:
      - { name: remote, transport: http, url: "${remote.url}", connectTimeoutMs: 5000 }
`;
      gateway = await startGateway({ yaml, vars: { ACME_KEY: KEY } });
      client = await connectClient(gateway.mcpUrl, KEY);
      const expected = FIXTURE_TOOLS.map((tool) => `remote_${tool}`).sort();
      await waitFor('the remote tools to be listed', async () => {
        const names = namesOf(await listAllTools(client!)).filter((name) => name.startsWith('remote_'));
        return names.length === expected.length;
      }, 30_000);
      expect(textOf(await client.callTool({ name: 'remote_echo', arguments: { text: 'up' } }))).toBe('echo: up');
      const { databaseUrl, redisPrefix } = gateway;
      await waitFor('the list to be stored', async () => {
        const rows = await query<{ count: string }>(
          databaseUrl,
          `SELECT count(*)::text AS count FROM tool_definitions t JOIN connections c ON c.id = t.connection_id WHERE c.name = 'remote'`,
        );
        return Number(rows[0]!.count) === expected.length;
      });

      await client.close();
      client = undefined;
      await gateway.close();
      gateway = undefined;
      await remote.stop();

      gateway = await startGateway({ yaml, vars: { ACME_KEY: KEY }, databaseUrl, redisPrefix });
      client = await connectClient(gateway.mcpUrl, KEY);
      const stored = namesOf(await listAllTools(client)).filter((name) => name.startsWith('remote_'));
      expect(stored.sort()).toEqual(expected);

      const health = await waitFor('the connection to be reported down', async () => {
        const current = await healthOf(gateway!, KEY, 'remote');
        return current.status === 'down' ? current : null;
      }, 30_000);
      expect(health.toolsStale).toBe(true);
      expect(health.toolCount).toBe(expected.length);

      const result = await client.callTool({ name: 'remote_echo', arguments: { text: 'down' } }, undefined, { timeout: 30_000 });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/unavailable/i);
      expect(textOf(result)).toContain('remote');
    }, SLOW);
  });
});
