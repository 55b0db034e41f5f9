import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, textOf } from '../support/mcp-client';
import { RunningServer, startConformanceHttp } from '../support/servers';
import { waitFor } from '../support/wait';

const ADMIN = 'ghk_test_conformance_admin_0001';
const DOWNSTREAM_TOKEN = 'conformance-downstream-token';

// The gateway in front of the conformance fixture (test/fixtures/conformance-server.mjs) over streamable HTTP.
describe('the gateway in front of the MCP conformance fixture', () => {
  let fixture: RunningServer;
  let gateway: TestGateway;
  let client: Client;

  beforeAll(async () => {
    fixture = await startConformanceHttp({ API_TOKEN: DOWNSTREAM_TOKEN });
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: conformance
    name: Conformance
    apiKeys: [{ name: admin, role: admin, secretEnv: CONFORMANCE_ADMIN }]
    connections:
      - { name: conf, transport: http, url: "${fixture.url}", headers: { Authorization: "Bearer ${DOWNSTREAM_TOKEN}" } }
`,
      vars: { CONFORMANCE_ADMIN: ADMIN },
    });
    client = await connectClient(gateway.mcpUrl, ADMIN);
    await waitFor('the fixture to list its tools', async () => (await client.listTools()).tools.some((tool) => tool.name === 'conf_test_reconnection'), 30_000);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await fixture?.stop();
  });

  // The fixture ends the call's event stream before answering (SEP-1699, as SDK servers with an event store do for
  // 2025-11-25 clients); the gateway comes back with Last-Event-ID and relays the answer as if nothing happened.
  it('completes a call whose downstream ends the event stream mid-call and answers after the resumption', async () => {
    const result = await client.callTool({ name: 'conf_test_reconnection', arguments: {} });

    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('Reconnection test completed');
  });
});
