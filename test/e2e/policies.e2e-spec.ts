import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const KEYS = {
  admin: 'ghk_test_policy_admin_key_00001',
  member: 'ghk_test_policy_member_key_0002',
  contractor: 'ghk_test_policy_contractor_0003',
  globexAdmin: 'ghk_test_policy_globex_admin_04',
  globexMember: 'ghk_test_policy_globex_member_5',
};

const YAML = `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: member, role: member, secretEnv: MEMBER }
      - { name: contractor, role: contractor, secretEnv: CONTRACTOR }
    connections:
      - ${fixtureStdioYaml('tools')}
    defaultEffect: allow
    policies:
      - name: contractors-read-only
        description: contractors may only read
        match: { roles: [contractor], toolClass: [write, destructive] }
        effect: deny
      - name: notes-need-approval
        match: { tools: ["tools_write_*"] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 2, expiresIn: 30m }
    toolClasses:
      - { tools: tools_crash, class: destructive }
  - slug: globex
    name: Globex
    apiKeys:
      - { name: admin, role: admin, secretEnv: GLOBEX_ADMIN }
      - { name: member, role: member, secretEnv: GLOBEX_MEMBER }
    connections:
      - ${fixtureStdioYaml('gx')}
`;

const VARS = { ADMIN: KEYS.admin, MEMBER: KEYS.member, CONTRACTOR: KEYS.contractor, GLOBEX_ADMIN: KEYS.globexAdmin, GLOBEX_MEMBER: KEYS.globexMember };

// The policy engine in the call pipeline and in tools/list, from the config file and from the admin API.
describe('policies', () => {
  let gateway: TestGateway;
  const clients: Client[] = [];

  const connect = async (key: string) => {
    const client = await connectClient(gateway.mcpUrl, key);
    clients.push(client);
    return client;
  };
  const names = async (client: Client) => (await listAllTools(client)).map((tool) => tool.name);

  beforeAll(async () => {
    gateway = await startGateway({ yaml: YAML, vars: VARS });
    await waitFor('both fixture connections to list their tools', async () => {
      const client = await connectClient(gateway.mcpUrl, KEYS.admin);
      const acme = await names(client);
      await client.close();
      const other = await connectClient(gateway.mcpUrl, KEYS.globexAdmin);
      const globex = await names(other);
      await other.close();
      return acme.includes('tools_echo') && globex.includes('gx_echo');
    }, 30_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
  });

  it('hides write and destructive tools from a contractor and refuses them by name, naming the rule', async () => {
    const contractor = await connect(KEYS.contractor);
    const listed = await names(contractor);
    expect(listed).toEqual(expect.arrayContaining(['tools_echo', 'tools_count']));
    expect(listed).not.toContain('tools_write_note');
    expect(listed).not.toContain('tools_crash');
    expect(textOf(await contractor.callTool({ name: 'tools_echo', arguments: { text: 'read' } }))).toBe('echo: read');

    const refused = await contractor.callTool({ name: 'tools_write_note', arguments: { text: 'x' } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toBe('Permission denied: contractors may only read (policy rule "contractors-read-only").');
  });

  it('lists a tool that needs approval saying so, and holds the call for approval instead of running it', async () => {
    const member = await connect(KEYS.member);
    const note = (await listAllTools(member)).find((tool) => tool.name === 'tools_write_note');
    expect(note?.description).toContain('Requires approval: 2 admins must approve each call.');
    const before = textOf(await member.callTool({ name: 'tools_count', arguments: {} }));
    const result = await member.callTool({ name: 'tools_write_note', arguments: { text: 'x' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Approval required\. Request [0-9a-f-]{36} sent to admin \(2 approvals needed\) under policy rule "notes-need-approval"\./);
    // Nothing reached the downstream: its call counter moved by one, for the count call itself.
    expect(Number(textOf(await member.callTool({ name: 'tools_count', arguments: {} })))).toBe(Number(before) + 1);
  });

  it('requires approval for a tool classified destructive unless a rule allows it', async () => {
    const admin = await connect(KEYS.admin);
    const crash = (await listAllTools(admin)).find((tool) => tool.name === 'tools_crash');
    expect(crash?.description).toContain('Requires approval');
    const result = await admin.callTool({ name: 'tools_crash', arguments: {} });
    expect(textOf(result)).toContain('policy rule "default:destructive-requires-approval"');
  });

  it('applies a policy changed through the admin API to the next call, without a restart, and versions it', async () => {
    const member = await connect(KEYS.globexMember);
    expect(textOf(await member.callTool({ name: 'gx_echo', arguments: { text: 'before' } }))).toBe('echo: before');

    const policy = {
      defaultEffect: 'allow',
      rules: [{ name: 'no-echo-for-members', description: 'members may not echo', match: { roles: ['member'], tools: ['gx_echo'] }, effect: 'deny' }],
    };
    expect((await apiRequest(gateway.baseUrl, KEYS.globexMember, 'PUT', '/api/v1/policies', policy)).status).toBe(403);
    const saved = await apiRequest<{ version: number; rules: { name: string }[] }>(gateway.baseUrl, KEYS.globexAdmin, 'PUT', '/api/v1/policies', policy);
    expect(saved.status).toBe(200);
    expect(saved.body.rules.map((rule) => rule.name)).toEqual(['no-echo-for-members']);

    const denied = await member.callTool({ name: 'gx_echo', arguments: { text: 'after' } });
    expect(textOf(denied)).toBe('Permission denied: members may not echo (policy rule "no-echo-for-members").');
    expect(await names(member)).not.toContain('gx_echo');

    const revisions = await apiRequest<{ version: number; changedBy: string }[]>(gateway.baseUrl, KEYS.globexAdmin, 'GET', '/api/v1/policies/revisions');
    expect(revisions.body[0]).toMatchObject({ version: saved.body.version, changedBy: expect.stringMatching(/^api_key:/) });

    const invalid = await apiRequest<{ detail: string }>(gateway.baseUrl, KEYS.globexAdmin, 'PUT', '/api/v1/policies', {
      rules: [{ name: 'bad', effect: 'deny', match: { arguments: [{ path: 'a', matches: '(' }] } }],
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.detail).toMatch(/valid regular expression/);
  });

  it('reaches the other replicas for their next call', async () => {
    const replica = await startGateway({ yaml: YAML, vars: VARS, databaseUrl: gateway.databaseUrl, redisPrefix: gateway.redisPrefix });
    try {
      const viaReplica = await connectClient(replica.mcpUrl, KEYS.globexMember);
      clients.push(viaReplica);
      await waitFor('the replica to list gx_count', async () => (await names(viaReplica)).includes('gx_count'), 30_000);
      expect(textOf(await viaReplica.callTool({ name: 'gx_count', arguments: {} }))).toMatch(/^\d+$/);
      const policy = { rules: [{ name: 'no-counting', match: { tools: ['gx_count'] }, effect: 'deny' }] };
      expect((await apiRequest(gateway.baseUrl, KEYS.globexAdmin, 'PUT', '/api/v1/policies', policy)).status).toBe(200);
      await waitFor('the replica to apply the new policy', async () => {
        const result = await viaReplica.callTool({ name: 'gx_count', arguments: {} });
        return result.isError === true && textOf(result).includes('policy rule "no-counting"');
      }, 5_000);
    } finally {
      await replica.close();
    }
  });

  it('lets an admin read and extend the policy with the management tools, and hides them from members', async () => {
    const member = await connect(KEYS.globexMember);
    expect(await names(member)).not.toContain('gatehouse_create_policy');
    const admin = await connect(KEYS.globexAdmin);
    const tools = await listAllTools(admin);
    expect(tools.find((tool) => tool.name === 'gatehouse_list_policies')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(tools.find((tool) => tool.name === 'gatehouse_create_policy')?.annotations).toMatchObject({ readOnlyHint: false });

    const created = await admin.callTool({
      name: 'gatehouse_create_policy',
      arguments: { rule: { name: 'no-adding', match: { tools: ['gx_add_tool'] }, effect: 'deny' }, position: 0 },
    });
    expect(created.isError).toBeFalsy();
    const listed = JSON.parse(textOf(await admin.callTool({ name: 'gatehouse_list_policies', arguments: {} }))) as { policy: { rules: { name: string }[] } };
    expect(listed.policy.rules[0]!.name).toBe('no-adding');
    expect(textOf(await admin.callTool({ name: 'gx_add_tool', arguments: { name: 'x' } }))).toContain('policy rule "no-adding"');
    const duplicate = await admin.callTool({ name: 'gatehouse_create_policy', arguments: { rule: { name: 'no-adding', effect: 'deny' } } });
    expect(textOf(duplicate)).toContain('already exists');

    // Rules added at the same moment all land: each insert reads and writes the policy under one lock.
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((suffix) =>
        admin.callTool({ name: 'gatehouse_create_policy', arguments: { rule: { name: `concurrent-${suffix}`, match: { tools: ['gx_none'] }, effect: 'deny' } } }),
      ),
    );
    const after = JSON.parse(textOf(await admin.callTool({ name: 'gatehouse_list_policies', arguments: {} }))) as { policy: { rules: { name: string }[] } };
    expect(after.policy.rules.map((rule) => rule.name).filter((name) => name.startsWith('concurrent-')).sort()).toEqual([
      'concurrent-a',
      'concurrent-b',
      'concurrent-c',
      'concurrent-d',
      'concurrent-e',
    ]);
  });

  it('refuses API changes to a policy the config file manages, and re-applying the file changes nothing', async () => {
    const refused = await apiRequest<{ detail: string }>(gateway.baseUrl, KEYS.admin, 'PUT', '/api/v1/policies', { rules: [] });
    expect(refused.status).toBe(409);
    const before = await query<{ policy_version: number }>(gateway.databaseUrl, "SELECT policy_version FROM organizations WHERE slug = 'acme'");
    const second = await startGateway({ yaml: YAML, vars: VARS, databaseUrl: gateway.databaseUrl });
    await second.close();
    const after = await query<{ policy_version: number }>(gateway.databaseUrl, "SELECT policy_version FROM organizations WHERE slug = 'acme'");
    expect(after).toEqual(before);
    expect(before[0]!.policy_version).toBe(1);
  });
});
