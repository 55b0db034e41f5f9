import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { contentStdioYaml, RunningServer, startContentHttp } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const KEYS = {
  admin: 'ghk_test_content_admin_key_00000001',
  reader: 'ghk_test_content_reader_key_0000002',
  other: 'ghk_test_content_other_key_00000003',
};

interface AuditRow extends Record<string, unknown> {
  kind: string;
  outcome: string | null;
  target: Record<string, unknown> | null;
  data: Record<string, unknown>;
}

/** The JSON-RPC error a request was refused with. */
async function refusal(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error = await request.then(
    () => null,
    (reason: unknown) => reason,
  );
  if (!(error instanceof McpError)) throw new Error(`expected a JSON-RPC error, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

const textsOf = (contents: object[]) => contents.map((content) => (content as { text?: unknown }).text);

describe('prompts, resources, templates, subscriptions and completions through the aggregated /mcp', () => {
  let beta: RunningServer;
  let gateway: TestGateway;
  let admin: Client;
  // Connected well before the tests that listen: a client opens its notification stream (GET) after initialize.
  let listener: Client;
  let acmeId: string;
  const clients: Client[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-content-'));
  const alphaMarker = join(dir, 'alpha.log');
  const marks = () => (existsSync(alphaMarker) ? readFileSync(alphaMarker, 'utf8').split('\n').filter(Boolean) : []);
  const connect = async (key: string) => {
    const client = await connectClient(gateway.mcpUrl, key);
    clients.push(client);
    return client;
  };
  const records = (kind: string) =>
    query<AuditRow>(gateway.databaseUrl, 'SELECT kind, outcome, target, data FROM audit_records WHERE organization_id = $1 AND kind = $2 ORDER BY id', [acmeId, kind]);

  beforeAll(async () => {
    beta = await startContentHttp({ CONTENT_LABEL: 'beta' });
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
      - { name: reader, role: member, access: read_only, secretEnv: READER_KEY }
    connections:
      - ${contentStdioYaml('alpha', { CONTENT_LABEL: 'alpha', CONTENT_MARKER: alphaMarker })}
      - { name: beta, transport: http, url: "${beta.url}" }
      - ${contentStdioYaml('wild', { CONTENT_LABEL: 'wild', CONTENT_HOSTILE: '1', CONTENT_HUGE_BYTES: '200000' }, 'maxReplyBytes: 65536')}
    policies:
      - { name: no-secret-prompts, match: { prompts: ["*_secret"] }, effect: deny }
      - { name: no-secret-plans, description: plans are for the board only, match: { resources: ["secret://*"] }, effect: deny }
  - slug: other
    name: Other
    apiKeys: [{ name: admin, role: admin, secretEnv: OTHER_KEY }]
    connections:
      - ${contentStdioYaml('gamma', { CONTENT_LABEL: 'gamma' })}
`,
      vars: { ADMIN_KEY: KEYS.admin, READER_KEY: KEYS.reader, OTHER_KEY: KEYS.other },
    });
    acmeId = (await query<{ id: string }>(gateway.databaseUrl, 'SELECT id::text FROM organizations WHERE slug = $1', ['acme']))[0]!.id;
    admin = await connect(KEYS.admin);
    listener = await connect(KEYS.reader);
    await waitFor(
      'both connections to list their prompts and resources',
      async () => {
        const prompts = (await admin.listPrompts()).prompts.map((prompt) => prompt.name);
        const templates = (await admin.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate);
        return ['alpha_greet', 'beta_greet'].every((name) => prompts.includes(name)) && templates.includes('good://wild/{id}') && templates.includes('docs://beta/pages/{page}');
      },
      30_000,
    );
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
    await beta?.stop();
  });

  it('lists both connections’ prompts, resources and templates under their prefixes, and gets and reads them', async () => {
    const prompts = (await admin.listPrompts()).prompts;
    expect(prompts.map((prompt) => prompt.name)).toEqual(expect.arrayContaining(['alpha_greet', 'beta_greet']));
    expect(prompts.find((prompt) => prompt.name === 'beta_greet')).toMatchObject({
      description: 'Greets someone (beta)',
      arguments: [expect.objectContaining({ name: 'name', required: true })],
      _meta: { 'io.gatehouse/connection': 'beta', 'io.gatehouse/prompt': 'greet' },
    });
    const uris = (await admin.listResources()).resources.map((resource) => resource.uri);
    expect(uris).toEqual(expect.arrayContaining(['docs://alpha/readme', 'docs://beta/readme', 'ui://alpha/widget/board.html', 'ui://beta/widget/board.html']));
    const templates = (await admin.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate);
    expect(templates).toEqual(expect.arrayContaining(['docs://alpha/pages/{page}', 'docs://beta/pages/{page}']));

    const readme = await admin.readResource({ uri: 'docs://beta/readme' });
    expect(readme.contents).toEqual([{ uri: 'docs://beta/readme', mimeType: 'text/plain', text: 'readme of beta' }]);
    const page = await admin.readResource({ uri: 'docs://alpha/pages/usage' });
    expect(page.contents).toEqual([{ uri: 'docs://alpha/pages/usage', mimeType: 'text/plain', text: 'page usage of alpha' }]);

    const greeting = await admin.getPrompt({ name: 'alpha_greet', arguments: { name: 'Ann' } });
    expect(greeting.messages[0]!.content).toEqual({ type: 'text', text: 'Hello Ann from alpha' });
    // The embedded resource names the downstream's URI: shown as the gateway serves it, and it reads back.
    expect(greeting.messages[1]!.content).toMatchObject({ type: 'resource', resource: { uri: 'docs://alpha/readme', text: 'readme of alpha' } });
    expect(textsOf((await admin.readResource({ uri: 'docs://alpha/readme' })).contents)).toEqual(['readme of alpha']);

    const missing = await refusal(admin.getPrompt({ name: 'beta_greet', arguments: {} }));
    expect(missing).toMatchObject({ code: -32602, message: expect.stringContaining('requires the argument name') });

    const [read] = (await records('resources.read')).filter((row) => row.target?.['name'] === 'docs://beta/readme');
    expect(read).toMatchObject({ outcome: 'success', target: { type: 'resource', connection: 'beta', downstream: 'docs://readme' }, data: { contents: 1, mimeTypes: ['text/plain'] } });
    expect((await records('prompts.get')).find((row) => row.target?.['name'] === 'alpha_greet')).toMatchObject({ outcome: 'success', target: { connection: 'alpha', downstream: 'greet' } });
    expect((await records('prompts.list')).length).toBeGreaterThan(0);
  });

  it('routes completion/complete to the connection owning the prompt or the template', async () => {
    const names = await admin.complete({ ref: { type: 'ref/prompt', name: 'beta_greet' }, argument: { name: 'name', value: 'al' } });
    expect(names.completion.values).toEqual(['alice', 'albert']);
    const pages = await admin.complete({ ref: { type: 'ref/resource', uri: 'docs://alpha/pages/{page}' }, argument: { name: 'page', value: 'in' } });
    expect(pages.completion.values).toEqual(['intro', 'install']);
    expect((await records('completion.complete')).at(-1)).toMatchObject({ outcome: 'success', target: { connection: 'alpha', downstream: 'docs://pages/{page}' } });
  });

  it('serves a ChatGPT-Apps widget: the template a tool names, and its result’s resource_link, read back through the gateway', async () => {
    const tools = await listAllTools(admin);
    for (const connection of ['alpha', 'beta']) {
      const tool = tools.find((candidate) => candidate.name === `${connection}_show_board`)!;
      const template = `ui://${connection}/widget/board.html`;
      expect(tool._meta).toMatchObject({ 'openai/outputTemplate': template, ui: { resourceUri: template } });
      const widget = await admin.readResource({ uri: tool._meta!['openai/outputTemplate'] as string });
      expect(widget.contents).toEqual([{ uri: template, mimeType: 'text/html+skybridge', text: `<div id="board">${connection} board</div>` }]);

      const result = await admin.callTool({ name: `${connection}_show_board`, arguments: {} });
      const link = (result.content as { type: string; uri?: string }[]).find((block) => block.type === 'resource_link')!;
      expect(link.uri).toBe(template);
      expect(result.structuredContent).toEqual({ columns: 3 });
      expect(textsOf((await admin.readResource({ uri: link.uri! })).contents)).toEqual([`<div id="board">${connection} board</div>`]);
    }
  });

  it('relays notifications/resources/updated to the sessions subscribed, subscribing downstream once, until they let go', async () => {
    const [first, second] = [admin, listener];
    const updates = { first: [] as string[], second: [] as string[] };
    first.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updates.first.push(notification.params.uri));
    second.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updates.second.push(notification.params.uri));
    const subscribes = () => marks().filter((line) => line === 'subscribe:docs://readme').length;
    const before = subscribes();

    await first.subscribeResource({ uri: 'docs://alpha/readme' });
    await second.subscribeResource({ uri: 'docs://alpha/readme' });
    await first.subscribeResource({ uri: 'docs://alpha/pages/intro' });
    expect(subscribes()).toBe(before + 1);

    await admin.callTool({ name: 'alpha_touch', arguments: { uri: 'docs://readme' } });
    await waitFor('both sessions to hear of the update', () => updates.first.length === 1 && updates.second.length === 1);
    expect(updates).toEqual({ first: ['docs://alpha/readme'], second: ['docs://alpha/readme'] });

    await first.unsubscribeResource({ uri: 'docs://alpha/readme' });
    // The second session still holds it: the downstream subscription stays.
    expect(marks()).not.toContain('unsubscribe:docs://readme');
    await admin.callTool({ name: 'alpha_touch', arguments: { uri: 'docs://readme' } });
    await admin.callTool({ name: 'alpha_touch', arguments: { uri: 'docs://pages/intro' } });
    // The first session's updates arrive in order on its stream: the page's update after the readme's, if that came.
    await waitFor('the first session to hear of the page', () => updates.first.includes('docs://alpha/pages/intro'));
    await waitFor('the second session to hear of the readme again', () => updates.second.length === 2);
    expect(updates.first).toEqual(['docs://alpha/readme', 'docs://alpha/pages/intro']);

    // The last holder's session ends: the gateway lets go downstream.
    await (second.transport as StreamableHTTPClientTransport).terminateSession();
    await waitFor('the downstream unsubscribe', () => marks().includes('unsubscribe:docs://readme'));
    expect((await records('resources.subscribe')).filter((row) => row.outcome === 'success').length).toBeGreaterThanOrEqual(3);
    expect((await records('resources.unsubscribe')).at(-1)).toMatchObject({ outcome: 'success', data: { held: true } });
  });

  it('tells the client when a connection’s prompts or resources change', async () => {
    const client = admin;
    const heard: string[] = [];
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => void heard.push('prompts'));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void heard.push('resources'));
    await admin.callTool({ name: 'alpha_add_prompt', arguments: { name: 'fresh' } });
    await waitFor('prompts list_changed', () => heard.includes('prompts'));
    expect((await client.listPrompts()).prompts.map((prompt) => prompt.name)).toContain('alpha_fresh');
    await admin.callTool({ name: 'beta_add_resource', arguments: { name: 'fresh' } });
    await waitFor('resources list_changed', () => heard.includes('resources'));
    expect((await client.listResources()).resources.map((resource) => resource.uri)).toContain('docs://beta/fresh');
  });

  it('neither lists nor serves a prompt or resource the policy denies, and audits the refusal', async () => {
    expect((await admin.listPrompts()).prompts.map((prompt) => prompt.name)).not.toContain('alpha_secret');
    expect((await admin.listResources()).resources.map((resource) => resource.uri)).not.toContain('secret://alpha/plan');

    const prompt = await refusal(admin.getPrompt({ name: 'alpha_secret' }));
    expect(prompt).toMatchObject({ code: -32003, message: expect.stringContaining('policy rule "no-secret-prompts"') });
    const plan = await refusal(admin.readResource({ uri: 'secret://alpha/plan' }));
    expect(plan).toMatchObject({ code: -32003, message: expect.stringContaining('plans are for the board only (policy rule "no-secret-plans")') });
    expect((await refusal(admin.subscribeResource({ uri: 'secret://beta/plan' }))).code).toBe(-32003);
    expect((await refusal(admin.complete({ ref: { type: 'ref/prompt', name: 'beta_secret' }, argument: { name: 'x', value: '' } }))).code).toBe(-32003);

    expect((await records('prompts.get')).find((row) => row.target?.['name'] === 'alpha_secret')).toMatchObject({
      outcome: 'denied',
      target: { type: 'prompt', connection: 'alpha', downstream: 'secret' },
      data: { error: expect.stringContaining('no-secret-prompts') },
    });
    expect((await records('resources.read')).find((row) => row.target?.['name'] === 'secret://alpha/plan')).toMatchObject({ outcome: 'denied', target: { downstream: 'secret://plan' } });
  });

  it('lets a read-only key list, read and get, and still refuses it a tool that writes', async () => {
    const reader = await connect(KEYS.reader);
    expect(textsOf((await reader.readResource({ uri: 'ui://beta/widget/board.html' })).contents)).toEqual(['<div id="board">beta board</div>']);
    expect((await reader.getPrompt({ name: 'beta_greet', arguments: { name: 'Rae' } })).messages[0]!.content).toEqual({ type: 'text', text: 'Hello Rae from beta' });
    expect((await reader.listResourceTemplates()).resourceTemplates.length).toBeGreaterThan(0);
    const write = await reader.callTool({ name: 'alpha_write_note', arguments: { text: 'x' } });
    expect(write.isError).toBe(true);
    expect(textOf(write)).toMatch(/read-only/);
  });

  it('never lets another organization’s key see or reach these prompts and resources, even by their exact names', async () => {
    const other = await connect(KEYS.other);
    await waitFor('the other organization’s own prompts', async () => (await other.listPrompts()).prompts.some((prompt) => prompt.name === 'gamma_greet'), 30_000);
    expect((await other.listPrompts()).prompts.every((prompt) => prompt.name.startsWith('gamma_'))).toBe(true);
    expect((await other.listResources()).resources.every((resource) => resource.uri.includes('://gamma/'))).toBe(true);
    expect(await refusal(other.readResource({ uri: 'docs://alpha/readme' }))).toMatchObject({ code: -32002, message: expect.stringContaining('Resource not found') });
    expect(await refusal(other.getPrompt({ name: 'alpha_greet', arguments: { name: 'x' } }))).toMatchObject({ code: -32602, message: expect.stringContaining('Unknown prompt') });
    expect((await refusal(other.subscribeResource({ uri: 'docs://beta/readme' }))).code).toBe(-32002);
    expect((await refusal(other.complete({ ref: { type: 'ref/resource', uri: 'docs://alpha/pages/{page}' }, argument: { name: 'page', value: '' } }))).code).toBe(-32002);
    // And the reverse: a URI naming the other organization's connection is as unknown as one naming no connection.
    for (const uri of ['docs://gamma/readme', 'docs://nowhere/readme', 'docs://readme', 'urn:alpha', 'no-scheme']) {
      expect((await refusal(admin.readResource({ uri }))).code).toBe(-32002);
    }
  });

  it('refuses hostile URIs with a clear error and goes on serving', async () => {
    for (const uri of ['ui://alpha/../beta/widget/board.html', 'ui://alpha/widget/%2e%2e/board.html', 'docs://alpha/read\u0001me', `docs://alpha/${'a'.repeat(100 * 1024)}`]) {
      const refused = await refusal(admin.readResource({ uri }));
      expect(refused.code).toBe(-32602);
      expect(refused.message).toMatch(/^MCP error -32602: Invalid resource URI: it (contains|is \d+ characters long)/);
      expect(refused.message.length).toBeLessThan(300);
    }
    expect(textsOf((await admin.readResource({ uri: 'docs://alpha/readme' })).contents)).toEqual(['readme of alpha']);
  });

  it('bounds a hostile downstream: a list that never ends, a template that does not parse, garbage, a resource over the byte cap', async () => {
    const uris = (await admin.listResources()).resources.map((resource) => resource.uri).filter((uri) => uri.startsWith('endless://wild/'));
    expect(uris.length).toBeGreaterThan(0);
    expect(uris.length).toBeLessThanOrEqual(100);
    const templates = (await admin.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate);
    expect(templates).toContain('good://wild/{id}');
    expect(templates.some((template) => template.startsWith('bad:'))).toBe(false);

    const garbage = await refusal(admin.readResource({ uri: 'garbage://wild/reply' }));
    expect(garbage).toMatchObject({ code: -32603, message: expect.stringContaining('not valid MCP') });
    expect(garbage.message).not.toContain('no uri');

    const huge = await refusal(admin.readResource({ uri: 'huge://wild/blob' }));
    expect(huge).toMatchObject({ code: -32603, message: expect.stringContaining('maxReplyBytes') });
    expect(huge.message.length).toBeLessThan(300);
    expect((await records('resources.read')).find((row) => row.target?.['name'] === 'huge://wild/blob')).toMatchObject({ outcome: 'failure', target: { connection: 'wild' } });
    // The other connections never noticed.
    expect(textsOf((await admin.readResource({ uri: 'docs://beta/readme' })).contents)).toEqual(['readme of beta']);
  });
});
