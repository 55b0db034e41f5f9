import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest } from '../support/admin-api';
import { BearerProxy, startBearerProxy } from '../support/bearer-proxy';
import { failuresOf, runConformance } from '../support/conformance';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, textOf } from '../support/mcp-client';
import { TEST_PLATFORM } from '../support/platform';
import { conformanceStdioYaml, RunningServer, startConformanceHttp } from '../support/servers';
import { waitFor } from '../support/wait';

const ADMIN = 'ghk_test_conformance_admin_0001';
const DOWNSTREAM_TOKEN = 'conformance-downstream-token';

// The gateway in front of the conformance fixture (test/fixtures/conformance-server.mjs): over streamable HTTP as
// `conf`, and over stdio as `conf-stdio`. The official suite runs against the endpoint that serves `conf` unprefixed,
// through a proxy that adds the endpoint key (the suite sends no credentials).
describe('the gateway in front of the MCP conformance fixture', () => {
  let fixture: RunningServer;
  let proxy: BearerProxy;
  let endpointKey: string | null = null;
  let gateway: TestGateway;
  let client: Client;

  beforeAll(async () => {
    fixture = await startConformanceHttp({ API_TOKEN: DOWNSTREAM_TOKEN });
    // The suite addresses the proxy, so its origin is the one the gateway must accept (DNS-rebinding protection).
    proxy = await startBearerProxy(() => (endpointKey ? { origin: gateway.baseUrl, token: endpointKey } : null));
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: conformance
    name: Conformance
    apiKeys: [{ name: admin, role: admin, secretEnv: CONFORMANCE_ADMIN }]
    connections:
      - { name: conf, transport: http, url: "${fixture.url}", headers: { Authorization: "Bearer ${DOWNSTREAM_TOKEN}" } }
      - ${conformanceStdioYaml('conf-stdio')}
    endpoints:
      - { name: conformance, selection: { connections: [conf] }, unprefixed: true }
      - { name: stdio-only, selection: { connections: [conf-stdio] } }
    defaultEffect: allow
    policies:
      - { name: no-image-prompt, match: { prompts: [conf-stdio_test_prompt_with_image] }, effect: deny }
`,
      vars: { CONFORMANCE_ADMIN: ADMIN },
      env: { GATEHOUSE_ALLOWED_ORIGINS: proxy.origin },
      // The suite opens a session per scenario and ends none of them.
      platform: { ...TEST_PLATFORM, limits: { ...TEST_PLATFORM.limits, sessionsPerCredential: 100 } },
    });
    client = await connectClient(gateway.mcpUrl, ADMIN);
    await waitFor(
      'both connections to list their tools and prompts',
      async () => {
        const tools = (await client.listTools()).tools.map((tool) => tool.name);
        const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
        return tools.includes('conf_test_reconnection') && tools.includes('conf-stdio_test_simple_text') && prompts.includes('conf_test_simple_prompt') && prompts.includes('conf-stdio_test_simple_prompt');
      },
      30_000,
    );
    const minted = await apiRequest<{ secret: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/endpoints/conformance/keys', { name: 'conformance suite' });
    expect(minted.status).toBe(201);
    endpointKey = minted.body.secret;
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await proxy?.close();
    await fixture?.stop();
  });

  it('passes every server scenario of the official conformance suite at an endpoint serving the fixture unprefixed', async () => {
    const run = await runConformance(`${proxy.origin}/mcp/conformance`);

    expect(failuresOf(run)).toEqual([]);
    expect(run.scenarios).toHaveLength(32);
    expect(run.scenarios.filter(({ passed }) => !passed)).toEqual([]);
    expect(run.exitCode).toBe(0);
  }, 180_000);

  it('lists the prompts and resources of both connections at /mcp with their prefixes, and gets and reads them through it', async () => {
    const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
    expect(prompts).toEqual(expect.arrayContaining(['conf_test_simple_prompt', 'conf_test_prompt_with_arguments', 'conf-stdio_test_simple_prompt', 'conf-stdio_test_prompt_with_arguments']));
    const resources = (await client.listResources()).resources.map((resource) => resource.uri);
    expect(resources).toEqual(expect.arrayContaining(['test://conf/static-text', 'test://conf-stdio/static-text', 'test://conf/static-binary']));
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((template) => template.uriTemplate);
    expect(templates).toEqual(expect.arrayContaining(['test://conf/template/{id}/data', 'test://conf-stdio/template/{id}/data']));

    for (const connection of ['conf', 'conf-stdio']) {
      const prompt = await client.getPrompt({ name: `${connection}_test_prompt_with_arguments`, arguments: { arg1: 'alpha', arg2: 'beta' } });
      expect(JSON.stringify(prompt.messages)).toContain('alpha');
      const text = await client.readResource({ uri: `test://${connection}/static-text` });
      expect(text.contents).toEqual([expect.objectContaining({ uri: `test://${connection}/static-text`, text: 'This is the content of the static text resource.' })]);
      const templated = await client.readResource({ uri: `test://${connection}/template/123/data` });
      expect(templated.contents[0]).toMatchObject({ uri: `test://${connection}/template/123/data` });
      expect(JSON.stringify(templated.contents)).toContain('123');
    }
  });

  it('neither lists nor gets a prompt the policy denies', async () => {
    const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
    expect(prompts).toContain('conf_test_prompt_with_image');
    expect(prompts).not.toContain('conf-stdio_test_prompt_with_image');

    await expect(client.getPrompt({ name: 'conf-stdio_test_prompt_with_image' })).rejects.toThrow(/policy rule "no-image-prompt"/);
    const allowed = await client.getPrompt({ name: 'conf_test_prompt_with_image' });
    expect(allowed.messages.some((message) => message.content.type === 'image')).toBe(true);
  });

  it('serves at an endpoint only the prompts and resources of the connections it selects', async () => {
    const narrow = await connectClient(`${gateway.mcpUrl}/stdio-only`, ADMIN);
    try {
      const prompts = (await narrow.listPrompts()).prompts.map((prompt) => prompt.name);
      expect(prompts.length).toBeGreaterThan(0);
      expect(prompts.every((name) => name.startsWith('conf-stdio_'))).toBe(true);
      const resources = (await narrow.listResources()).resources.map((resource) => resource.uri);
      expect(resources).toContain('test://conf-stdio/static-text');
      expect(resources.filter((uri) => !uri.startsWith('test://conf-stdio/'))).toEqual([]);
      expect((await narrow.readResource({ uri: 'test://conf-stdio/static-text' })).contents).toHaveLength(1);
      // The other connection's, exactly as /mcp names them: unknown here.
      await expect(narrow.readResource({ uri: 'test://conf/static-text' })).rejects.toThrow(/-32002/);
      await expect(narrow.getPrompt({ name: 'conf_test_simple_prompt' })).rejects.toThrow(/-32602/);
    } finally {
      await narrow.close();
    }
  });

  // The fixture ends the call's event stream before answering (SEP-1699, as SDK servers with an event store do for
  // 2025-11-25 clients); the gateway comes back with Last-Event-ID and relays the answer as if nothing happened.
  it('completes a call whose downstream ends the event stream mid-call and answers after the resumption', async () => {
    const result = await client.callTool({ name: 'conf_test_reconnection', arguments: {} });

    expect(textOf(result)).toBe('Reconnection test completed');
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('Reconnection test completed');
  });
});
