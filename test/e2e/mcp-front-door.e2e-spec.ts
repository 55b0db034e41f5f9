import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { rawRequest, RawReply, RawRequest } from '../support/raw-http';
import { RawSession, toolCall } from '../support/raw-mcp';
import { fixtureStdioYaml } from '../support/servers';

jest.setTimeout(120_000);

const ACME = 'ghk_test_front_door_acme_admin_001';
const OTHER = 'ghk_test_front_door_other_admin_01';
const LIMIT = 16 * 1024;

// McpFrontDoor answers tools/call on an established session ahead of Express. Attacked here with everything it must
// either refuse exactly as Express and McpController do, or hand over to them untouched; each answer below is the one
// the gateway gave before the front door existed.
describe('the MCP front door: tools/call ahead of Express, the same answers', () => {
  let gateway: TestGateway;
  let session: RawSession;
  let endpointSession: RawSession;
  // helmet's headers, as an Express route sets them (initialize goes through Express).
  let securityHeaders: Record<string, string>;

  beforeAll(async () => {
    gateway = await startGateway({
      env: { GATEHOUSE_MAX_BODY_BYTES: String(LIMIT) },
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME }
    connections:
      - ${fixtureStdioYaml('fixture')}
    endpoints:
      - { name: echoes, selection: { tools: ["*_echo"] } }
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER }
    endpoints:
      - { name: echoes, selection: { tools: ["*_echo"] } }
`,
      vars: { ACME, OTHER },
    });
    await waitUntilConnected(gateway, ['fixture']);
    session = await RawSession.open(gateway.mcpUrl, ACME);
    endpointSession = await RawSession.open(`${gateway.baseUrl}/mcp/echoes`, ACME);
    // A ping without a session: McpController's answer (400), through all of Express.
    const throughExpress = await send({ method: 'POST', path: '/mcp', headers: headers(undefined), body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
    expect(throughExpress.status).toBe(400);
    securityHeaders = pickSecurityHeaders(throughExpress);
    expect(Object.keys(securityHeaders)).toEqual(expect.arrayContaining(['content-security-policy', 'x-content-type-options', 'strict-transport-security']));
  });

  afterAll(async () => {
    await gateway?.close();
  });

  function headers(sessionId: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
    const all: Record<string, string> = {
      authorization: `Bearer ${ACME}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
      ...extra,
    };
    return all;
  }
  const send = (raw: RawRequest) => rawRequest(gateway.baseUrl, raw, 15_000);
  const call = (id: number, text = 'hi') => JSON.stringify(toolCall(id, 'fixture_echo', { text }));
  const post = (path: string, sessionId: string | undefined, body: string, extra: Record<string, string> = {}) =>
    send({ method: 'POST', path, headers: headers(sessionId, extra), body });
  const error = (reply: RawReply) => (JSON.parse(reply.body) as { error: { code: number; message: string } }).error;

  it('answers a tools/call at /mcp and at an endpoint with the security headers, a request id and the session id', async () => {
    for (const [path, sessionId] of [['/mcp', session.id], ['/mcp/echoes', endpointSession.id]] as const) {
      const reply = await post(path, sessionId, call(7));
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toEqual({ jsonrpc: '2.0', id: 7, result: expect.objectContaining({ content: [{ type: 'text', text: 'echo: hi' }] }) });
      expect(pickSecurityHeaders(reply)).toEqual(securityHeaders);
      expect(reply.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(reply.headers['mcp-session-id']).toBe(sessionId);
      expect(reply.headers['x-powered-by']).toBeUndefined();
    }
    // A caller's sane request id is kept.
    const traced = await post('/mcp', session.id, call(8), { 'x-request-id': 'trace-123' });
    expect(traced.headers['x-request-id']).toBe('trace-123');
    // A byte order mark is dropped, as the JSON parser drops it.
    const bom = await post('/mcp', session.id, `\ufeff${call(9, 'bom')}`);
    expect(bom.status).toBe(200);
    expect(bom.body).toContain('echo: bom');
  });

  it('refuses an oversized body before reading it: 413', async () => {
    const reply = await post('/mcp', session.id, call(10, 'x'.repeat(LIMIT)));
    expect(reply.status).toBe(413);
    expect(error(reply)).toEqual({ code: -32000, message: `Request body exceeds the limit of ${LIMIT} bytes` });
  });

  it('answers malformed JSON, and JSON that is no object, with the parser\'s parse error', async () => {
    const malformed = await post('/mcp', session.id, '{"jsonrpc":"2.0",');
    expect(malformed.status).toBe(400);
    expect(error(malformed)).toEqual({ code: -32700, message: parseError('{"jsonrpc":"2.0",') });
    const strict = await post('/mcp', session.id, '"tools/call"');
    expect(strict.status).toBe(400);
    expect(error(strict)).toEqual({ code: -32700, message: 'Unexpected token \'"\', ""tools/call"" is not valid JSON' });
    // Whitespace before the object: the parser takes it, and the call is answered all the same.
    const spaced = await post('/mcp', session.id, ` \n${call(11)}`);
    expect(spaced.status).toBe(200);
    expect(JSON.parse(spaced.body)).toMatchObject({ id: 11, result: { content: [{ text: 'echo: hi' }] } });
  });

  it('leaves other content types, charsets and encodings to Express: 415, 400', async () => {
    const plain = await post('/mcp', session.id, call(12), { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(error(plain)).toEqual({ code: -32000, message: 'Unsupported Media Type: Content-Type must be application/json' });
    const latin1 = await post('/mcp', session.id, call(13), { 'content-type': 'application/json; charset=latin1' });
    expect(latin1.status).toBe(415);
    expect(error(latin1)).toEqual({ code: -32000, message: 'unsupported charset "LATIN1"' });
    const gzip = await post('/mcp', session.id, call(14), { 'content-encoding': 'gzip' });
    expect(gzip.status).toBe(400);
    expect(error(gzip)).toEqual({ code: -32000, message: 'Bad Request' });
  });

  it('refuses an Origin that is not allowed (403), and takes the gateway\'s own', async () => {
    const evil = await post('/mcp', session.id, call(15), { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(error(evil)).toEqual({ code: -32000, message: 'Forbidden: origin https://evil.example is not allowed' });
    const own = await post('/mcp', session.id, call(16), { origin: gateway.baseUrl });
    expect(own.status).toBe(200);
  });

  it('never serves a session to another organization\'s key, nor at another door: 404 as for an unknown session', async () => {
    const notFound = { code: -32001, message: 'Session not found: start a new session with initialize' };
    for (const [path, sessionId, key] of [
      ['/mcp', session.id, OTHER],
      ['/mcp/echoes', endpointSession.id, OTHER],
      ['/mcp/echoes', session.id, ACME],
      ['/mcp', 'no-such-session', ACME],
    ] as const) {
      const reply = await post(path, sessionId, call(17), { authorization: `Bearer ${key}` });
      expect(reply.status).toBe(404);
      expect(error(reply)).toEqual(notFound);
    }
  });

  it('answers a failing credential with the guard\'s 401 and challenge', async () => {
    const reply = await post('/mcp', session.id, call(18), { authorization: 'Bearer ghk_not_a_key' });
    expect(reply.status).toBe(401);
    expect(error(reply)).toEqual({ code: -32000, message: 'Invalid or revoked API key' });
    expect(reply.headers['www-authenticate']).toMatch(/^Bearer resource_metadata=".*\/\.well-known\/oauth-protected-resource\/mcp", scope="mcp:read mcp:write", error="invalid_token"/);
  });

  it('answers an unknown endpoint and a path that is no door with 404, as before', async () => {
    const unknown = await post('/mcp/nope', session.id, call(19));
    expect(unknown.status).toBe(404);
    expect(error(unknown)).toEqual({ code: -32000, message: 'No MCP endpoint "nope" in this organization' });
    const noDoor = await post('/mcp/NOPE', session.id, call(20));
    expect(noDoor.status).toBe(404);
    expect(error(noDoor)).toEqual({ code: -32001, message: 'No MCP endpoint here: /mcp, or /mcp/<endpoint> with a name of lower-case letters, digits and "-"' });
    const doubled = await post('/mcp//', session.id, call(21));
    expect(doubled.status).toBe(404);
    expect(error(doubled)).toEqual({ code: -32000, message: 'Cannot POST /mcp//' });
  });

  it('refuses unstorable text in the body and the query (400), and answers bad params as the exchange does', async () => {
    const nul = await post('/mcp', session.id, call(22, 'a\u0000b'));
    expect(nul.status).toBe(400);
    expect(error(nul)).toEqual({ code: -32000, message: 'Invalid text in body.params.arguments.text: a NUL character or an unpaired UTF-16 surrogate is not accepted' });
    const inQuery = await post('/mcp?x=%00', session.id, call(23));
    expect(inQuery.status).toBe(400);
    expect(error(inQuery)).toEqual({ code: -32000, message: 'Invalid text in query.x: a NUL character or an unpaired UTF-16 surrogate is not accepted' });
    const badParams = await post('/mcp', session.id, JSON.stringify({ jsonrpc: '2.0', id: 24, method: 'tools/call', params: { name: 5 } }));
    expect(badParams.status).toBe(200);
    expect(JSON.parse(badParams.body)).toMatchObject({ id: 24, error: { code: -32602 } });
    const empty = await post('/mcp', session.id, '');
    expect(empty.status).toBe(400);
    expect(error(empty)).toEqual({ code: -32700, message: 'Parse error: Invalid JSON-RPC message' });
  });

  it('still serves the session after all of the above', async () => {
    const reply = await post('/mcp', session.id, call(25, 'still here'));
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('echo: still here');
  });
});

function pickSecurityHeaders(reply: RawReply): Record<string, string> {
  const names = ['content-security-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'origin-agent-cluster', 'referrer-policy', 'strict-transport-security',
    'x-content-type-options', 'x-dns-prefetch-control', 'x-download-options', 'x-frame-options', 'x-permitted-cross-domain-policies', 'x-xss-protection'];
  return Object.fromEntries(names.filter((name) => reply.headers[name] !== undefined).map((name) => [name, String(reply.headers[name])]));
}

// V8's own words for a body JSON.parse refuses (they differ between Node versions).
function parseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} parses`);
}
