import { BrowserPage, TestBrowser } from '../support/browser';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { textOf } from '../support/mcp-client';
import { connectWithOAuth, TestOAuthProvider } from '../support/oauth-client';
import { CALLBACK, codeFrom, OAuthFlow, signInAndApprove } from '../support/oauth-flow';
import { fixtureStdioYaml } from '../support/servers';

jest.setTimeout(120_000);

const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };

// Access tokens that expire while a client uses them: refused once expired, and the SDK client refreshes by itself.
describe('short-lived OAuth access tokens', () => {
  let gateway: TestGateway;
  let flows: OAuthFlow;

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
oauth: { accessTokenTtl: 2s }
organizations:
  - slug: acme
    name: Acme
    members: [{ email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }]
    connections:
      - ${fixtureStdioYaml('tools')}
`,
      vars: { ALICE_PASSWORD: ALICE.password },
    });
    await waitUntilConnected(gateway, ['tools']);
    flows = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
  });

  const expire = () => new Promise((resolve) => setTimeout(resolve, 2_500));

  it('refuses an expired access token with 401 invalid_token', async () => {
    const { clientId, verifier, landed } = await flows.start();
    const code = codeFrom(await signInAndApprove(ALICE)(landed as BrowserPage));
    const tokens = await flows.exchange({ clientId, verifier, code });
    expect(tokens.body['expires_in']).toBe(2);
    expect(await flows.mcpStatus(tokens.body['access_token']!)).toBe(200);
    await expire();
    expect(await flows.mcpStatus(tokens.body['access_token']!)).toBe(401);
  });

  it('lets the SDK client refresh by itself after its access token expired, and go on calling tools', async () => {
    const provider = new TestOAuthProvider({ redirectUrl: CALLBACK, clientName: 'Claude test' });
    const browser = new TestBrowser(gateway.baseUrl);
    const { client } = await connectWithOAuth({ mcpUrl: gateway.mcpUrl, browser, provider, signIn: signInAndApprove(ALICE) });
    const first = provider.tokens()!;
    expect(textOf(await client.callTool({ name: 'tools_echo', arguments: { text: 'fresh' } }))).toBe('echo: fresh');
    await expire();
    expect(textOf(await client.callTool({ name: 'tools_echo', arguments: { text: 'refreshed' } }))).toBe('echo: refreshed');
    expect(provider.tokens()!.access_token).not.toBe(first.access_token);
    expect(provider.tokens()!.refresh_token).not.toBe(first.refresh_token);
    await client.close();
  });
});
