import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { waitFor } from '../support/wait';
import { fixtureStdioYaml, RunningServer, startRelayHttp } from '../support/servers';

// Gateways start real servers on 2 shared cores: hooks and tests get minutes, not jest's 5 s default.
const SLOW = 180_000;
const MODERN = '2026-07-28';
const ADMIN = 'ghk_test_protocol2026_admin_key_001';
const MEMBER = 'ghk_test_protocol2026_member_key_01';
const OTHER = 'ghk_test_protocol2026_other_admin_01';

type Envelope = { protocolVersion?: string; capabilities?: Record<string, unknown> };

/** The `_meta` envelope every 2026-07-28 request carries. */
function envelope({ protocolVersion = MODERN, capabilities = {} }: Envelope = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': protocolVersion,
    'io.modelcontextprotocol/clientInfo': { name: 'raw-2026', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  };
}

type Reply = { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };

/** A raw POST with `token`, the 2026-07-28 version header and the headers given (null removes one). */
async function postRaw(url: string, token: string | null, body: unknown, headers: Record<string, string | null> = {}) {
  const all: Record<string, string | null> = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': MODERN,
    ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
    ...headers,
  };
  const response = await fetch(url, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== null)),
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  // An SSE reply: the messages before the answer (progress, log messages), then the answer.
  const events = type.includes('text/event-stream')
    ? text.split('\n\n').flatMap((event) => event.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)) as Reply & { method?: string; params?: Record<string, unknown> }))
    : [];
  const json = type.includes('application/json') ? (JSON.parse(text) as Reply) : (events.at(-1) ?? null);
  return { status: response.status, body: json, events: events.slice(0, -1), headers: response.headers };
}

/** A 2026-07-28 request (id 7): the standard headers from the body unless `headers` says otherwise. */
function post2026(url: string, token: string | null, method: string, params: Record<string, unknown>, headers: Record<string, string | null> = {}) {
  const name = typeof params['name'] === 'string' ? params['name'] : typeof params['uri'] === 'string' ? params['uri'] : undefined;
  const standard = { 'Mcp-Method': method, ...(name === undefined ? {} : { 'Mcp-Name': name }) };
  return postRaw(url, token, { jsonrpc: '2.0', id: 7, method, params: { _meta: envelope(), ...params } }, { ...standard, ...headers });
}

describe('MCP 2026-07-28 (stateless) beside 2025-11-25 sessions', () => {
  let gateway: TestGateway;
  // The fixture appends a line per call and per cancellation it is told of.
  const marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-2026-')), 'fixture.log');
  const marks = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []);
  // Over streamable HTTP, each request of the relay fixture names the call it belongs to, however many run at once.
  let relay: RunningServer;
  const legacyClients: Client[] = [];
  const modernClients: ModernClient[] = [];

  /** The SDK's v2 client, pinned to 2026-07-28: server/discover, then stateless requests. */
  async function connectModern(path: string, token: string, name = 'modern-client', setup?: (client: ModernClient) => void): Promise<ModernClient> {
    const capabilities = setup ? { elicitation: { form: {} }, sampling: {} } : {};
    const client = new ModernClient({ name, version: '2.0.0' }, { capabilities, versionNegotiation: { mode: { pin: MODERN } } });
    setup?.(client);
    await client.connect(new ModernTransport(new URL(`${gateway.baseUrl}${path}`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    modernClients.push(client);
    return client;
  }

  async function connectLegacy(path: string, token: string, name = 'legacy-client'): Promise<Client> {
    const client = await connectClient(`${gateway.baseUrl}${path}`, token, name);
    legacyClients.push(client);
    return client;
  }

  beforeAll(async () => {
    relay = await startRelayHttp();
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: member, role: member, secretEnv: MEMBER }
    connections:
      - ${fixtureStdioYaml('fixture', { FIXTURE_MARKER: marker })}
      - { name: relay, transport: http, url: "${relay.url}" }
    policies:
      - { name: no-notes, effect: deny, match: { tools: ["fixture_write_note"] } }
    endpoints:
      - { name: fixture, selection: { connections: [fixture] }, unprefixed: true }
      - { name: echoes, selection: { tools: ["*_echo"] } }
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER }
`,
      vars: { ADMIN, MEMBER, OTHER },
    });
    await waitUntilConnected(gateway, ['fixture', 'relay']);
  }, SLOW);

  afterAll(async () => {
    await Promise.allSettled([...legacyClients, ...modernClients].map((client) => client.close()));
    await gateway?.close();
    await relay?.stop();
  }, SLOW);

  it('serves a 2026-07-28 client and a 2025-11-25 client at once: list, call with progress, the policy, audited alike', async () => {
    const [modern, legacy] = await Promise.all([connectModern('/mcp', ADMIN), connectLegacy('/mcp', ADMIN)]);
    expect(modern.getProtocolEra()).toBe('modern');
    expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect(modern.getServerVersion()).toEqual(expect.objectContaining({ name: 'gatehouse' }));

    const [modernTools, legacyTools] = await Promise.all([modern.listTools(), listAllTools(legacy)]);
    const modernNames = modernTools.tools.map((tool) => tool.name).sort();
    expect(modernNames).toEqual(legacyTools.map((tool) => tool.name).sort());
    expect(modernNames).toContain('fixture_echo');
    // The policy hides what it never allows, from both.
    expect(modernNames).not.toContain('fixture_write_note');

    const progress: unknown[] = [];
    const [modernEcho, legacyEcho, slow] = await Promise.all([
      modern.callTool({ name: 'fixture_echo', arguments: { text: 'from 2026' } }),
      legacy.callTool({ name: 'fixture_echo', arguments: { text: 'from 2025' } }),
      modern.callTool({ name: 'fixture_slow', arguments: { ms: 10 } }, { onprogress: (update: unknown) => void progress.push(update) }),
    ]);
    expect(textOf(modernEcho)).toContain('from 2026');
    expect(textOf(legacyEcho)).toContain('from 2025');
    expect(slow.isError).toBeFalsy();
    expect(progress).toEqual([expect.objectContaining({ progress: 0, total: 1, message: 'sleeping' })]);

    const [modernDenied, legacyDenied] = await Promise.all([
      modern.callTool({ name: 'fixture_write_note', arguments: { text: 'x' } }),
      legacy.callTool({ name: 'fixture_write_note', arguments: { text: 'x' } }),
    ]);
    expect(modernDenied.isError).toBe(true);
    expect(textOf(modernDenied)).toEqual(textOf(legacyDenied));
    expect(textOf(modernDenied)).toContain('no-notes');

    // The same records for both: the request and the outcome of each call, the denials as denied.
    const records = await query<{ kind: string; outcome: string | null; text: string | null; tool: string }>(
      gateway.databaseUrl,
      `SELECT kind, outcome, data->'arguments'->>'text' AS text, target->>'tool' AS tool FROM audit_records
        WHERE kind IN ('tools.call.request', 'tools.call.outcome') AND target->>'tool' IN ('fixture_echo', 'fixture_write_note') ORDER BY id`,
    );
    for (const text of ['from 2026', 'from 2025']) expect(records.filter((record) => record.kind === 'tools.call.request' && record.text === text)).toHaveLength(1);
    expect(records.filter((record) => record.kind === 'tools.call.outcome' && record.tool === 'fixture_write_note').map((record) => record.outcome)).toEqual(['denied', 'denied']);
    const lists = await query<{ n: string }>(gateway.databaseUrl, `SELECT count(*) AS n FROM audit_records WHERE kind = 'tools.list'`);
    expect(Number(lists[0]!.n)).toBeGreaterThanOrEqual(2);
  }, SLOW);

  it('serves an endpoint statelessly under its own names, and marks results cacheable for the caller only', async () => {
    const client = await connectModern('/mcp/fixture', ADMIN);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain('echo');
    expect(tools.map((tool) => tool.name)).not.toContain('fixture_echo');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'at the door' } }))).toContain('at the door');

    const listed = await post2026(`${gateway.baseUrl}/mcp/echoes`, ADMIN, 'tools/list', {});
    expect(listed.status).toBe(200);
    expect(listed.headers.get('mcp-session-id')).toBeNull();
    expect(listed.body?.result).toEqual(expect.objectContaining({ resultType: 'complete', ttlMs: 0, cacheScope: 'private' }));
    expect((listed.body?.result?.['tools'] as { name: string }[]).map((tool) => tool.name)).toEqual(['fixture_echo']);
  }, SLOW);

  it('refuses a request whose standard headers or envelope disagree with its body, with 400 and the revision’s codes', async () => {
    const url = gateway.mcpUrl;
    const wrongMethod = await post2026(url, ADMIN, 'tools/list', {}, { 'Mcp-Method': 'prompts/list' });
    expect(wrongMethod.status).toBe(400);
    expect(wrongMethod.body).toEqual({ jsonrpc: '2.0', id: 7, error: expect.objectContaining({ code: -32020, message: expect.stringContaining('Mcp-Method') }) });

    const missingMethod = await post2026(url, ADMIN, 'tools/list', {}, { 'Mcp-Method': null });
    expect([missingMethod.status, missingMethod.body?.error?.code]).toEqual([400, -32020]);

    // A balancer that routes on Mcp-Name must not be told one tool while the body calls another.
    const wrongName = await post2026(url, ADMIN, 'tools/call', { name: 'fixture_write_note', arguments: { text: 'x' } }, { 'Mcp-Name': 'fixture_echo' });
    expect([wrongName.status, wrongName.body?.error?.code]).toEqual([400, -32020]);
    const missingName = await post2026(url, ADMIN, 'tools/call', { name: 'fixture_echo', arguments: { text: 'x' } }, { 'Mcp-Name': null });
    expect([missingName.status, missingName.body?.error?.code]).toEqual([400, -32020]);
    // Whitespace around a header's value is HTTP's, not the value's; a non-ASCII name travels base64-encoded.
    const padded = await post2026(url, ADMIN, 'tools/call', { name: 'fixture_echo', arguments: { text: 'padded' } }, { 'Mcp-Name': '  fixture_echo  ' });
    expect(textOf(padded.body?.result)).toContain('padded');
    const encoded = await post2026(url, ADMIN, 'tools/call', { name: 'fixture_echo', arguments: { text: 'b64' } }, { 'Mcp-Name': `=?base64?${Buffer.from('fixture_echo').toString('base64')}?=` });
    expect(textOf(encoded.body?.result)).toContain('b64');

    const list = { 'Mcp-Method': 'tools/list' };
    const versionMismatch = await postRaw(url, ADMIN, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: envelope({ protocolVersion: '2025-11-25' }) } }, list);
    expect([versionMismatch.status, versionMismatch.body?.error?.code]).toEqual([400, -32020]);
    const unsupported = await postRaw(
      url,
      ADMIN,
      { jsonrpc: '2.0', id: 3, method: 'server/discover', params: { _meta: envelope({ protocolVersion: '2099-01-01' }) } },
      { 'MCP-Protocol-Version': '2099-01-01', 'Mcp-Method': 'server/discover' },
    );
    expect(unsupported.status).toBe(400);
    expect(unsupported.body).toEqual({ jsonrpc: '2.0', id: 3, error: expect.objectContaining({ code: -32022, data: { supported: [MODERN], requested: '2099-01-01' } }) });

    const noCapabilities = await postRaw(url, ADMIN, { jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } }, list);
    expect(noCapabilities.status).toBe(400);
    expect(noCapabilities.body).toEqual({ jsonrpc: '2.0', id: 4, error: expect.objectContaining({ code: -32602, message: expect.stringContaining('clientCapabilities') }) });

    // SEP-2164: a resource that does not exist is -32602 naming its URI.
    const missing = await post2026(url, ADMIN, 'resources/read', { uri: 'file:///nowhere.txt' });
    expect(missing.body?.error).toEqual(expect.objectContaining({ code: -32602, data: { uri: 'file:///nowhere.txt' } }));

    // What 2026-07-28 removed is 404 -32601, in words; a hostile body is a JSON-RPC error, not a stack trace.
    for (const method of ['initialize', 'ping', 'resources/subscribe', 'no/such/method']) {
      const removed = await post2026(url, ADMIN, method, {});
      expect([removed.status, removed.body?.error?.code]).toEqual([404, -32601]);
    }
    const batch = await postRaw(url, ADMIN, [{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope() } }], list);
    expect([batch.status, batch.body?.error?.code]).toEqual([400, -32600]);
    const get = await fetch(url, { headers: { Authorization: `Bearer ${ADMIN}`, Accept: 'text/event-stream', 'MCP-Protocol-Version': MODERN } });
    expect(get.status).toBe(405);
  }, SLOW);

  it('cancels the downstream call when a 2026-07-28 client hangs up before its answer', async () => {
    const hangup = new AbortController();
    const body = { jsonrpc: '2.0', id: 21, method: 'tools/call', params: { _meta: envelope(), name: 'fixture_slow', arguments: { ms: 60_000 } } };
    const count = (line: string) => marks().filter((mark) => mark === line).length;
    const [calls, cancels] = [count('call:slow'), count('cancelled:slow')];
    const pending = fetch(gateway.mcpUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'fixture_slow' },
      body: JSON.stringify(body),
      signal: hangup.signal,
    }).catch(() => null);
    await waitFor('the downstream to start the call', () => count('call:slow') > calls);
    hangup.abort();
    await pending;
    await waitFor('the downstream to be told the call was cancelled', () => count('cancelled:slow') > cancels, 30_000);
  }, SLOW);

  it('authenticates and scopes every request: no credentials, another organization’s key, an endpoint key at another door', async () => {
    const anonymous = await post2026(gateway.mcpUrl, null, 'tools/list', {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');

    // Other's admin reaches its own organization only: Acme's tools are not there to call.
    const other = await post2026(gateway.mcpUrl, OTHER, 'tools/list', {});
    expect(other.status).toBe(200);
    expect((other.body?.result?.['tools'] as { name: string }[]).map((tool) => tool.name)).not.toContain('fixture_echo');
    const otherCall = await post2026(gateway.mcpUrl, OTHER, 'tools/call', { name: 'fixture_echo', arguments: { text: 'x' } });
    expect(JSON.stringify(otherCall.body)).not.toContain('"text":"x"');
    expect(otherCall.body?.error ?? otherCall.body?.result?.['isError']).toBeTruthy();

    const key = await apiRequest<{ secret: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/endpoints/fixture/keys', { name: 'fixture door key' });
    expect(key.status).toBe(201);
    const secret = key.body.secret;
    const atOwnDoor = await post2026(`${gateway.baseUrl}/mcp/fixture`, secret, 'tools/call', { name: 'echo', arguments: { text: 'own door' } });
    expect(textOf(atOwnDoor.body?.result)).toContain('own door');
    for (const path of ['/mcp', '/mcp/echoes']) {
      const elsewhere = await post2026(`${gateway.baseUrl}${path}`, secret, 'tools/list', {});
      expect(elsewhere.status).toBe(401);
    }

    // A member is a member statelessly too: the policy and its role apply per request.
    const member = await post2026(gateway.mcpUrl, MEMBER, 'tools/call', { name: 'fixture_write_note', arguments: { text: 'x' } });
    expect(member.body?.result?.['isError']).toBe(true);
  }, SLOW);

  describe('multi-round-trip requests (SEP-2322) in place of relayed elicitation and sampling', () => {
    const ASKING = { elicitation: { form: {} } };
    const elicit = (label: string) => ({ name: 'relay_elicit_form', arguments: { label } });

    /** A raw first round: the call, answered with input_required while the downstream waits. */
    async function firstRound(label: string, token = ADMIN) {
      const reply = await postRaw(gateway.mcpUrl, token, { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { _meta: envelope({ capabilities: ASKING }), ...elicit(label) } }, { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'relay_elicit_form' });
      const result = reply.body?.result as { resultType: string; inputRequests: Record<string, { method: string; params: { message: string } }>; requestState: string };
      return { reply, result, key: Object.keys(result?.inputRequests ?? {})[0]! };
    }

    /** A retry of `tool` with `requestState` and the answer to `key`. */
    function retry(tool: string, requestState: string, key: string, name: string, token = ADMIN) {
      const params = { _meta: envelope({ capabilities: ASKING }), name: tool, arguments: { label: 'raw' }, requestState, inputResponses: { [key]: { action: 'accept', content: { name } } } };
      return postRaw(gateway.mcpUrl, token, { jsonrpc: '2.0', id: 12, method: 'tools/call', params }, { 'Mcp-Method': 'tools/call', 'Mcp-Name': tool });
    }

    it('asks a 2026-07-28 client with input_required results and a 2025-11-25 client with relayed requests, at once', async () => {
      const asked: unknown[] = [];
      const modern = await connectModern('/mcp', ADMIN, 'modern-asking', (client) => {
        client.setRequestHandler('elicitation/create', async (request) => {
          asked.push(request.params);
          return { action: 'accept', content: { name: 'Ada' } };
        });
        client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', model: 'test-model', content: { type: 'text', text: 'hello back' } }));
      });
      const legacy = await connectClient(gateway.mcpUrl, ADMIN, 'legacy-asking', {
        capabilities: { elicitation: { form: {} } },
        setup: (client) => client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Grace' } })),
      });
      legacyClients.push(legacy);

      const [modernAnswer, legacyAnswer] = await Promise.all([
        modern.callTool({ name: 'relay_elicit_form', arguments: { label: '2026' } }),
        legacy.callTool({ name: 'relay_elicit_form', arguments: { label: '2025' } }),
      ]);
      expect(textOf(modernAnswer)).toBe('action:accept name:Ada label:2026');
      expect(textOf(legacyAnswer)).toBe('action:accept name:Grace label:2025');
      expect(asked).toEqual([expect.objectContaining({ message: 'Who is asking? (2026)' })]);
      expect(textOf(await modern.callTool({ name: 'relay_sample', arguments: { prompt: 'hi' } }))).toBe('model:test-model said:hello back');

      // Each relayed request is audited against its call, whichever revision carried it.
      const relayed = await query<{ kind: string; outcome: string }>(gateway.databaseUrl, `SELECT kind, outcome FROM audit_records WHERE kind IN ('mcp.elicitation.relayed', 'mcp.sampling.relayed') AND call_id IS NOT NULL`);
      expect(relayed.filter((record) => record.kind === 'mcp.elicitation.relayed' && record.outcome === 'success').length).toBeGreaterThanOrEqual(2);
      expect(relayed.some((record) => record.kind === 'mcp.sampling.relayed' && record.outcome === 'success')).toBe(true);
    }, SLOW);

    it('continues a call only with its own sealed requestState, once: forged, another principal’s, another tool’s and replayed states are refused', async () => {
      const { reply, result, key } = await firstRound('sealed');
      expect(reply.status).toBe(200);
      expect(result).toEqual(expect.objectContaining({ resultType: 'input_required', requestState: expect.any(String) }));
      expect(result.inputRequests[key]).toEqual(expect.objectContaining({ method: 'elicitation/create', params: expect.objectContaining({ message: 'Who is asking? (sealed)' }) }));

      const refusedWith = (answer: Awaited<ReturnType<typeof retry>>) => [answer.body?.error?.code, answer.body?.result];
      // Forged: a changed byte, or a state made up.
      // The character before the last, which carries six bits of the sealed bytes (the last may carry padding bits).
      const state: string = result.requestState;
      const tampered = `${state.slice(0, -2)}${state.at(-2) === 'A' ? 'B' : 'A'}${state.slice(-1)}`;
      expect(tampered).not.toBe(state);
      expect(refusedWith(await retry('relay_elicit_form', tampered, key, 'Mallory'))).toEqual([-32602, undefined]);
      expect(refusedWith(await retry('relay_elicit_form', 'v2.made.up.state', key, 'Mallory'))).toEqual([-32602, undefined]);
      // Another principal holding the state, and the state carried into a call of another tool.
      expect(refusedWith(await retry('relay_elicit_form', result.requestState, key, 'Mallory', MEMBER))).toEqual([-32602, undefined]);
      expect(refusedWith(await retry('relay_sample', result.requestState, key, 'Mallory'))).toEqual([-32602, undefined]);
      // An answer missing for the request it must answer.
      expect(refusedWith(await retry('relay_elicit_form', result.requestState, 'r9-9', 'Mallory'))).toEqual([-32602, undefined]);

      // The real retry continues the same downstream call; its state is spent.
      const answered = await retry('relay_elicit_form', result.requestState, key, 'Eve');
      expect(answered.body?.result).toEqual(expect.objectContaining({ resultType: 'complete' }));
      expect(textOf(answered.body?.result)).toBe('action:accept name:Eve label:sealed');
      const replayed = await retry('relay_elicit_form', result.requestState, key, 'Mallory');
      expect(replayed.body?.error).toEqual(expect.objectContaining({ code: -32602, message: expect.stringContaining('good for one retry') }));
    }, SLOW);

    it("sends a call's log messages only when its _meta names a level, and only those at or above it", async () => {
      const logged = async (meta: Record<string, unknown>) => {
        const params = { _meta: { ...envelope(), ...meta }, name: 'relay_log', arguments: { tag: 'stateless' } };
        const reply = await postRaw(gateway.mcpUrl, ADMIN, { jsonrpc: '2.0', id: 31, method: 'tools/call', params }, { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'relay_log' });
        expect(textOf(reply.body?.result)).toBe('logged stateless');
        return reply.events.filter((event) => event.method === 'notifications/message').map((event) => event.params);
      };
      expect(await logged({})).toEqual([]);
      expect(await logged({ 'io.modelcontextprotocol/logLevel': 'warning' })).toEqual([{ level: 'error', logger: 'relay/fixture', data: 'error from stateless' }]);
    }, SLOW);

    it('refuses in words to ask a client that declared no such capability in its _meta', async () => {
      const reply = await post2026(gateway.mcpUrl, ADMIN, 'tools/call', { name: 'relay_sample', arguments: { prompt: 'hi' } });
      expect(reply.body?.result).toEqual(expect.objectContaining({ isError: true, resultType: 'complete' }));
      expect(textOf(reply.body?.result)).toContain('did not declare the sampling capability');
    }, SLOW);
  });
});
