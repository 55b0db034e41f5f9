import { execFileSync } from 'node:child_process';
import { TestBrowser, BrowserPage, Redirected } from '../support/browser';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { INSPECTOR_EXIT, InspectorRun, NODE22, runInspectorCli } from '../support/inspector';
import { connectWithOAuth, TestOAuthProvider } from '../support/oauth-client';
import { signInWithPassword } from '../support/oauth-flow';
import { fixtureStdioYaml } from '../support/servers';

jest.setTimeout(180_000);

const ADMIN = 'ghk_test_inspector_admin_key_01';
const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const CALLBACK = 'http://127.0.0.1:6274/oauth/callback';

interface ListedTool {
  name: string;
  description?: string;
  inputSchema: { type: string; properties?: Record<string, unknown>; required?: string[] };
}

/** `mcp-inspector --cli <gateway>/mcp --transport http --header "Authorization: Bearer …" --method tools/list --format json`. */
function listToolsWithInspector(mcpUrl: string, token: string): Promise<InspectorRun> {
  return runInspectorCli([
    '--server-url', mcpUrl,
    '--transport', 'http',
    '--header', `Authorization: Bearer ${token}`,
    '--method', 'tools/list',
    '--format', 'json',
    // Never fall back to the Inspector's own interactive OAuth: the bearer token is all it gets.
    '--stored-auth-only',
  ]);
}

function describeRun(run: InspectorRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

/** Asserts a successful run and returns the tools from its one JSON object on stdout ({"result":{"tools":[…]}}). */
function listedTools(run: InspectorRun): ListedTool[] {
  if (run.code !== 0) throw new Error(`The Inspector CLI failed: ${describeRun(run)}`);
  const output = JSON.parse(run.stdout) as { result: { tools: ListedTool[]; nextCursor?: string } };
  return output.result.tools;
}

function expectGatewayTools(tools: ListedTool[]): void {
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  expect([...byName.keys()]).toEqual(expect.arrayContaining(['tools_echo', 'tools_write_note']));
  // The fixture server's tools, as the gateway namespaces them: descriptions and input schemas come through intact.
  expect(byName.get('tools_echo')).toMatchObject({
    description: 'Echoes text',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  });
  expect(byName.get('tools_write_note')).toMatchObject({
    description: 'Pretends to write',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  });
}

// Acceptance: the MCP Inspector v2 CLI (Node 22) lists tools through Gatehouse with a bearer token.
describe('MCP Inspector v2 CLI against the gateway', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    // The point is Node 22: the gateway and jest run on the machine's Node 20.
    expect(execFileSync(NODE22, ['--version'], { encoding: 'utf8' }).trim()).toMatch(/^v22\./);
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
    connections:
      - ${fixtureStdioYaml('tools')}
`,
      vars: { ADMIN_KEY: ADMIN, ALICE_PASSWORD: ALICE.password },
    });
    await waitUntilConnected(gateway, ['tools']);
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
  });

  it('lists tools with an OAuth access token from the sign-in and consent flow', async () => {
    const browser = new TestBrowser(gateway.baseUrl);
    const provider = new TestOAuthProvider({ redirectUrl: CALLBACK, clientName: 'MCP Inspector test' });
    const signIn = async (page: BrowserPage): Promise<BrowserPage | Redirected> => {
      const next = await signInWithPassword(page, ALICE);
      return next.kind === 'page' ? next.click('Approve') : next;
    };
    const { client } = await connectWithOAuth({ mcpUrl: gateway.mcpUrl, browser, provider, signIn });
    await client.close().catch(() => undefined);
    const accessToken = provider.tokens()!.access_token;
    expect(accessToken).toBeTruthy();

    expectGatewayTools(listedTools(await listToolsWithInspector(gateway.mcpUrl, accessToken)));
  });

  it('lists tools with an API key', async () => {
    expectGatewayTools(listedTools(await listToolsWithInspector(gateway.mcpUrl, ADMIN)));
  });

  it('fails with auth_required (exit 3) and the gateway\'s 401 reason for a wrong token', async () => {
    const wrong = 'ghk_not_a_real_key_000000000000';
    // What the gateway answers that token: 401 with a bearer challenge.
    const direct = await fetch(gateway.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${wrong}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    await direct.body?.cancel();
    expect(direct.status).toBe(401);
    expect(direct.headers.get('www-authenticate')).toContain('error="invalid_token"');

    const run = await listToolsWithInspector(gateway.mcpUrl, wrong);
    // The CLI maps a 401 (the SDK's UnauthorizedError) to exit 3 and the "auth_required" envelope, one JSON object on
    // stderr; its message carries the body of the gateway's 401, i.e. the reason the token was refused.
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: INSPECTOR_EXIT.AUTH_REQUIRED, stdout: '' });
    const { error } = JSON.parse(run.stderr.trim()) as { error: { code: string; message: string } };
    expect(error.code).toBe('auth_required');
    expect(error.message).toContain('Invalid or revoked API key');
    expect(run.stderr).not.toContain(wrong);
  });
});
