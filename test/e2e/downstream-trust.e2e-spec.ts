import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest, connectionHealth } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

// A downstream's own word about its tools is not trusted: a tool that appears under a new name after the first
// tool list (a rename slips past a pin keyed by the old name) waits for an admin, and what a read-only credential
// may call follows the organization's classification of tools, not the server's annotations.
jest.setTimeout(120_000);

const ADMIN = 'ghk_test_downstream_trust_admin_0001';
const READER = 'ghk_test_downstream_trust_reader_002';

interface ToolChange {
  name: string;
  kind: 'new' | 'changed';
  pinned: { hash: string };
  pending: { hash: string };
}

describe('what a downstream says about its tools', () => {
  let gateway: TestGateway;
  let admin: Client;
  let reader: Client;
  let connectionId: string;

  const names = async (client: Client) => (await listAllTools(client)).map((tool) => tool.name);
  const changes = async () => (await apiRequest<ToolChange[]>(gateway.baseUrl, ADMIN, 'GET', `/api/v1/connections/${connectionId}/tool-changes`)).body;

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: reader, role: admin, access: read_only, secretEnv: READER }
    connections:
      - ${fixtureStdioYaml('fx')}
    # echo says readOnlyHint: true, but it sends what it is given somewhere: the organization classifies it as write.
    toolClasses:
      - { tools: fx_echo, class: write }
      - { tools: fx_write_note, class: read }
`,
      vars: { ADMIN, READER },
    });
    admin = await connectClient(gateway.mcpUrl, ADMIN);
    reader = await connectClient(gateway.mcpUrl, READER);
    await waitFor('the fixture tools', async () => (await names(admin)).includes('fx_rename_tool'), 30_000);
    connectionId = (await connectionHealth<{ id: string; name: string }>(gateway.baseUrl, ADMIN, 'fx')).id;
  });

  afterAll(async () => {
    await Promise.allSettled([admin?.close(), reader?.close()]);
    await gateway?.close();
  });

  it('keeps a read-only key from a tool the organization classified as write, whatever its annotations say', async () => {
    const listed = await names(reader);
    expect(listed).not.toContain('fx_echo');
    // …and lets it call one the organization classified as read, though the server does not mark it so.
    expect(listed).toContain('fx_write_note');
    const refused = await reader.callTool({ name: 'fx_echo', arguments: { text: 'out' } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('this credential is read-only, and "fx_echo" is not classified read-only');
    expect(textOf(await reader.callTool({ name: 'fx_write_note', arguments: { text: 'fine' } }))).toBe('wrote: fine');
    expect(textOf(await admin.callTool({ name: 'fx_echo', arguments: { text: 'admin' } }))).toBe('echo: admin');
  });

  it('holds back a renamed tool until an admin accepts it', async () => {
    expect(await changes()).toEqual([]);
    expect(textOf(await admin.callTool({ name: 'fx_rename_tool', arguments: { name: 'count', to: 'count_everything' } }))).toBe('renamed count to count_everything');
    const held = await waitFor('the renamed tool to be held back', async () => {
      const pending = await changes();
      return pending.length === 1 ? pending[0]! : null;
    }, 30_000);
    expect(held).toMatchObject({ name: 'fx_count_everything', kind: 'new', pinned: { hash: '' } });
    const listed = await names(admin);
    expect(listed).not.toContain('fx_count_everything');
    expect(listed).not.toContain('fx_count');

    const refused = await admin.callTool({ name: 'fx_count_everything', arguments: {} });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/^Tool "fx_count_everything" is held back: it appeared on .* after the connection's first tool list/);
    const health = await connectionHealth<{ name: string; heldBackTools: number }>(gateway.baseUrl, ADMIN, 'fx');
    expect(health.heldBackTools).toBe(1);

    const accepted = await apiRequest(gateway.baseUrl, ADMIN, 'POST', `/api/v1/connections/${connectionId}/tool-changes/fx_count_everything/accept`, {
      hash: held.pending.hash,
    });
    expect(accepted.status).toBe(200);
    expect(await names(admin)).toContain('fx_count_everything');
    expect(textOf(await admin.callTool({ name: 'fx_count_everything', arguments: {} }))).toBe('called count_everything');
    expect(await changes()).toEqual([]);
  });
});
