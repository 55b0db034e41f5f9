import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import fc from 'fast-check';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { TestBrowser } from '../support/browser';
import { describe as describeExchange, problemWith } from '../support/fuzz-check';
import {
  ApiOperation,
  apiRequests,
  authorizeRequests,
  Door,
  FuzzContext,
  FuzzRequest,
  healthRequests,
  junkRequests,
  mcpRequests,
  pageRequests,
  PendingSignIn,
  registerRequests,
  revokeRequests,
  tokenRequests,
  wellKnownRequests,
} from '../support/fuzz-doors';
import { JsonSchema, SchemaComponents } from '../support/fuzz-schema';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, textOf } from '../support/mcp-client';
import { CALLBACK, codeFrom, OAuthFlow, pkcePair, signInAndApprove, signInWithPassword } from '../support/oauth-flow';
import { rawRequest } from '../support/raw-http';
import { fixtureStdioYaml } from '../support/servers';

// Seeded, so a failure is replayed exactly: FUZZ_SEED=<the seed in the failure> npx jest test/e2e/fuzz.e2e-spec.ts.
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_601);
const RUNS: Record<Door, number> = { mcp: 700, api: 1_000, authorize: 300, token: 250, register: 80, revoke: 100, pages: 300, 'well-known': 80, health: 80, junk: 200 };
const CONCURRENCY = 6;
const REQUEST_TIMEOUT_MS = 20_000;
// Small, so that requests over it are cheap to send.
const MAX_BODY_BYTES = 65_536;

const FUZZ_OWNER = 'ghk_test_fuzz_owner_key_000000001';
const ACME_ADMIN = 'ghk_test_fuzz_acme_admin_key_0002';
const PASSWORD = 'fuzz-person-password';

jest.setTimeout(240_000);

// The fuzzed organization is separate from the one checked afterwards, so nothing the fuzz changes (policies,
// connections, keys) can explain a failure of the gateway to serve.
const yaml = `
organizations:
  - slug: fuzz
    name: Fuzz
    members: [{ email: fuzz@fuzz.test, role: owner, passwordEnv: FUZZ_PASSWORD }]
    apiKeys: [{ name: owner, role: owner, secretEnv: FUZZ_OWNER }]
    connections:
      - ${fixtureStdioYaml('tools', { FIXTURE_MODE: 'quiet' })}
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_ADMIN }]
    connections:
      - ${fixtureStdioYaml('fixture', { FIXTURE_MODE: 'quiet' })}
`;

describe(`every public door, fuzzed (seed ${SEED})`, () => {
  let gateway: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    gateway = await startGateway({ yaml, vars: { FUZZ_OWNER, ACME_ADMIN, FUZZ_PASSWORD: PASSWORD }, env: { GATEHOUSE_MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
    await waitUntilConnected(gateway, ['tools', 'fixture']);
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
  });

  it('answers thousands of malformed, mistyped and oversized requests without a 5xx, a stack trace or a hang, and still serves', async () => {
    const context = await fuzzContext();
    const requests = sampleRequests(context);
    const failures: string[] = [];
    const answered = new Map<Door, { ok: number; refused: number }>();
    const started = Date.now();
    await inParallel(requests, CONCURRENCY, async (request) => {
      try {
        const reply = await rawRequest(gateway.baseUrl, request, REQUEST_TIMEOUT_MS);
        const problem = problemWith(request, reply);
        if (problem) failures.push(`${problem}: ${describeExchange(request, reply)}`);
        const counts = answered.get(request.door) ?? { ok: 0, refused: 0 };
        counts[reply.status < 400 ? 'ok' : 'refused']++;
        answered.set(request.door, counts);
      } catch (error) {
        failures.push(`no answer: ${describeExchange(request, error as Error)}`);
      }
    });

    console.log(
      `fuzz seed ${SEED}: ${requests.length} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; accepted/refused by door: ` +
        [...answered].map(([door, counts]) => `${door} ${counts.ok}/${counts.refused}`).join(', '),
    );
    expect({ seed: SEED, failures: failures.slice(0, 25), total: failures.length }).toEqual({ seed: SEED, failures: [], total: 0 });
    // The fuzz reached past the first check of each door (a valid credential, client or session was accepted).
    for (const door of ['mcp', 'api', 'authorize', 'register', 'pages', 'well-known', 'health'] as const) {
      expect({ door, accepted: (answered.get(door)?.ok ?? 0) > 0 }).toEqual({ door, accepted: true });
    }

    // Afterwards the gateway still does its job: a tools/call, and an admin API call.
    const client = await connectClient(gateway.mcpUrl, ACME_ADMIN);
    clients.push(client);
    expect(textOf(await client.callTool({ name: 'fixture_echo', arguments: { text: 'still serving' } }))).toBe('echo: still serving');
    const connections = await apiRequest<{ name: string }[]>(gateway.baseUrl, ACME_ADMIN, 'GET', '/api/v1/connections');
    expect(connections.status).toBe(200);
    expect(connections.body.map((connection) => connection.name)).toEqual(['fixture']);
  });

  async function fuzzContext(): Promise<FuzzContext> {
    const sessions: string[] = [];
    for (const name of ['fuzz', 'fuzz-spare']) {
      const client = await connectClient(gateway.mcpUrl, FUZZ_OWNER, name);
      clients.push(client);
      sessions.push((client.transport as StreamableHTTPClientTransport).sessionId!);
    }

    const flow = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
    const publicClientId = await flow.registeredClientId();
    const confidential = (await flow.register([CALLBACK], { token_endpoint_auth_method: 'client_secret_post' })).body;
    const [organization] = await query<{ id: string }>(gateway.databaseUrl, `SELECT id::text FROM organizations WHERE slug = 'fuzz'`);

    const document = (await (await fetch(`${gateway.baseUrl}/api/docs-json`)).json()) as OpenApiDocument;
    const operations = apiOperations(document);
    // Something for the fuzz to update and delete besides the file's objects; its own key is left out of reach.
    const made = await apiRequest<{ id: string }>(gateway.baseUrl, FUZZ_OWNER, 'POST', '/api/v1/connections', { name: 'made', transport: 'http', url: 'http://127.0.0.1:9/mcp', enabled: false });
    expect(made.status).toBe(201);
    const spareKey = await apiRequest<{ id: string }>(gateway.baseUrl, FUZZ_OWNER, 'POST', '/api/v1/api-keys', { name: 'spare', role: 'member' });
    expect(spareKey.status).toBe(201);
    const ids = [...(await knownIds(['/api/v1/connections', '/api/v1/audit/sinks'])), spareKey.body.id];

    return {
      maxBodyBytes: MAX_BODY_BYTES,
      mcp: { key: FUZZ_OWNER, sessionId: sessions[0]!, spareSessionId: sessions[1]! },
      oauth: {
        publicClientId,
        confidentialClientId: String(confidential['client_id']),
        confidentialSecret: String(confidential['client_secret']),
        redirectUri: CALLBACK,
        resource: gateway.mcpUrl,
        email: 'fuzz@fuzz.test',
        organizationId: organization!.id,
        pending: [await pendingSignIn(flow, publicClientId, false), await pendingSignIn(flow, publicClientId, true)],
        ...(await issuedCredentials(flow, publicClientId)),
      },
      api: { key: FUZZ_OWNER, operations, components: document.components?.schemas ?? {}, ids },
    };
  }

  // A person part-way through signing in: at the sign-in page, or signed in and at the consent page.
  async function pendingSignIn(flow: OAuthFlow, clientId: string, signedIn: boolean): Promise<PendingSignIn> {
    const browser = new TestBrowser(gateway.baseUrl);
    let page = await browser.open(flow.authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 'fuzz' }));
    if (page.kind !== 'page') throw new Error(`Expected the sign-in page, got ${page.url.href}`);
    if (signedIn) {
      page = await signInWithPassword(page, { email: 'fuzz@fuzz.test', password: PASSWORD });
      if (page.kind !== 'page' || page.heading() === 'Sign in') throw new Error(`Expected the consent page after signing in`);
    }
    const cookie = browser
      .cookies(gateway.baseUrl)
      .map((stored) => `${stored.name}=${stored.value}`)
      .join('; ');
    return { request: page.hidden('request')!, csrf: page.hidden('csrf')!, cookie };
  }

  // A whole flow to a refresh token, then a second consent for a code left unused: the token endpoint's fuzz then
  // reaches the grant checks, not only the client checks.
  async function issuedCredentials(flow: OAuthFlow, clientId: string): Promise<{ refreshToken: string; code: string; codeVerifier: string }> {
    const browser = new TestBrowser(gateway.baseUrl);
    const approve = async (challenge: string, signIn: boolean) => {
      const page = await browser.open(flow.authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256' }));
      if (page.kind !== 'page') throw new Error(`Expected a page, got ${page.url.href}`);
      return codeFrom(signIn ? await signInAndApprove({ email: 'fuzz@fuzz.test', password: PASSWORD })(page) : await page.click('Approve'));
    };
    const first = pkcePair();
    const exchanged = await flow.exchange({ clientId, code: await approve(first.challenge, true), verifier: first.verifier });
    expect(exchanged.status).toBe(200);
    const second = pkcePair();
    return { refreshToken: exchanged.body['refresh_token']!, code: await approve(second.challenge, false), codeVerifier: second.verifier };
  }

  async function knownIds(lists: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const path of lists) {
      const { body } = await apiRequest<{ id: string }[]>(gateway.baseUrl, FUZZ_OWNER, 'GET', path);
      if (Array.isArray(body)) ids.push(...body.map((item) => item.id));
    }
    return ids;
  }
});

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema?: JsonSchema }[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: SchemaComponents };
}

// Every /api/v1 operation the gateway documents, so that a route added later is fuzzed without touching this suite.
function apiOperations(document: OpenApiDocument): ApiOperation[] {
  const operations: ApiOperation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/v1/')) continue;
    for (const [method, operation] of Object.entries(methods)) {
      const query = Object.fromEntries((operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => [parameter.name, parameter.schema ?? {}]));
      const body = operation.requestBody?.content?.['application/json']?.schema ?? null;
      operations.push({ method: method.toUpperCase(), path, query, body });
    }
  }
  expect(operations.length).toBeGreaterThan(20);
  return operations;
}

function sampleRequests(context: FuzzContext): FuzzRequest[] {
  const doors: Record<Door, fc.Arbitrary<FuzzRequest>> = {
    mcp: mcpRequests(context),
    api: apiRequests(context),
    authorize: authorizeRequests(context),
    token: tokenRequests(context),
    register: registerRequests(context),
    revoke: revokeRequests(context),
    pages: pageRequests(context),
    'well-known': wellKnownRequests(),
    health: healthRequests(),
    junk: junkRequests(context),
  };
  // Interleaved, so that no door's requests all land in the same second (rate limits, sessions ending).
  const all = (Object.keys(doors) as Door[]).flatMap((door, index) => fc.sample(doors[door], { seed: SEED + index, numRuns: RUNS[door] }));
  return fc.sample(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), { seed: SEED, numRuns: 1 })[0]!;
}

async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
