import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ClientCapabilities,
  CreateMessageRequestSchema,
  ElicitRequest,
  ElicitRequestSchema,
  LATEST_PROTOCOL_VERSION,
  LoggingMessageNotification,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { PendingClientRequests } from '@gatehouse/mcp';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { postMcp, RawAskingSession } from '../support/raw-mcp';
import { relayStdioYaml, RunningServer, startRelayHttp } from '../support/servers';
import { waitFor } from '../support/wait';

// Gateways start real servers on 2 shared cores: hooks and tests get minutes, not jest's 5 s default.
const SLOW = 180_000;
const ACME_KEY = 'ghk_test_relay_acme_admin_key_00001';
const ACME_MEMBER_KEY = 'ghk_test_relay_acme_member_key_0002';
const OTHER_KEY = 'ghk_test_relay_other_admin_key_00003';
const ASKING: ClientCapabilities = { elicitation: { form: {}, url: {} }, sampling: {} };

type CallResult = Awaited<ReturnType<Client['callTool']>>;

const isElicitation = (message: Record<string, unknown>) => message['method'] === 'elicitation/create';
const isReplyTo = (id: unknown) => (message: Record<string, unknown>) => message['id'] === id && ('result' in message || 'error' in message);
const resultText = (reply: Record<string, unknown>) => textOf(reply['result']);

describe('requests from downstreams relayed to the client that made the call', () => {
  let relayHttp: RunningServer;
  let gateway: TestGateway;
  const clients: Client[] = [];

  /** An SDK client that declares `capabilities` and answers elicitation with `name` (and sampling with a fixed message). */
  async function askingClient(options: { name?: string; capabilities?: ClientCapabilities; asked?: ElicitRequest['params'][]; logs?: LoggingMessageNotification['params'][]; token?: string; answer?: () => Promise<unknown> } = {}): Promise<Client> {
    const capabilities = options.capabilities ?? ASKING;
    const client = await connectClient(gateway.mcpUrl, options.token ?? ACME_KEY, 'relay-test', {
      capabilities,
      setup: (c) => {
        if (capabilities.elicitation) {
          c.setRequestHandler(ElicitRequestSchema, async (request) => {
            options.asked?.push(request.params);
            if (options.answer) return (await options.answer()) as never;
            return request.params.mode === 'url' ? { action: 'accept' } : { action: 'accept', content: { name: options.name ?? 'Ada' } };
          });
        }
        if (capabilities.sampling) {
          c.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: 'assistant', model: 'test-model', content: { type: 'text', text: 'hello back' } }));
        }
        c.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void options.logs?.push(notification.params));
      },
    });
    clients.push(client);
    return client;
  }

  const call = (client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallResult> =>
    client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 });

  beforeAll(async () => {
    relayHttp = await startRelayHttp();
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_KEY }
      - { name: member, role: member, secretEnv: ACME_MEMBER_KEY }
    defaultEffect: allow
    audit: { redactPaths: ["$.name"] }
    connections:
      - { name: web, transport: http, url: "${relayHttp.url}" }
      - { name: quick, transport: http, url: "${relayHttp.url}", callTimeoutMs: 1000, callDeadlineMs: 4000 }
      - ${relayStdioYaml('local')}
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER_KEY }
`,
      vars: { ACME_KEY, ACME_MEMBER_KEY, OTHER_KEY },
    });
    const client = await askingClient();
    await waitFor('the connections to list their tools', async () => {
      const names = (await listAllTools(client)).map((tool) => tool.name);
      return ['web_elicit_form', 'quick_elicit_form', 'local_elicit_form'].every((name) => names.includes(name));
    }, 60_000);
  }, SLOW);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
    await relayHttp?.stop();
  }, SLOW);

  describe.each([
    ['streamable HTTP', 'web'],
    ['stdio', 'local'],
  ])('over %s', (_transport, connection) => {
    it('relays a form-mode elicitation to the calling client and its answer back to the downstream', async () => {
      const asked: ElicitRequest['params'][] = [];
      const client = await askingClient({ name: 'Ada', asked });
      const result = await call(client, `${connection}_elicit_form`, { label: 'form' });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toBe('action:accept name:Ada label:form');
      expect(asked).toEqual([expect.objectContaining({ mode: 'form', message: 'Who is asking? (form)' })]);
    }, SLOW);

    it('relays URL mode and sampling', async () => {
      const asked: ElicitRequest['params'][] = [];
      const client = await askingClient({ asked });
      expect(textOf(await call(client, `${connection}_elicit_url`))).toBe('action:accept');
      expect(asked).toEqual([expect.objectContaining({ mode: 'url', url: 'https://auth.example.test/consent?state=abc', elicitationId: 'elicitation-1' })]);
      expect(textOf(await call(client, `${connection}_sample`, { prompt: 'hello' }))).toBe('model:test-model said:hello back');
    }, SLOW);

    it('refuses, in words, to ask a client that did not declare the capability', async () => {
      const client = await askingClient({ capabilities: { sampling: {} } });
      const result = await call(client, `${connection}_elicit_form`, { label: 'none' });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('did not declare the elicitation capability');
      const formOnly = await askingClient({ capabilities: { elicitation: { form: {} } } });
      expect(textOf(await call(formOnly, `${connection}_elicit_url`))).toContain('did not declare the elicitation capability for URL mode');
      expect(textOf(await call(formOnly, `${connection}_sample`, { prompt: 'hi' }))).toContain('did not declare the sampling capability');
    }, SLOW);

    it("relays the call's log messages at or above the session's level, to the calling session only", async () => {
      const logs: LoggingMessageNotification['params'][] = [];
      const bystanderLogs: LoggingMessageNotification['params'][] = [];
      const client = await askingClient({ logs });
      const bystander = await askingClient({ logs: bystanderLogs });
      await client.setLoggingLevel('warning');
      expect(textOf(await call(client, `${connection}_log`, { tag: 'caller' }))).toBe('logged caller');
      await waitFor('the error log message', () => logs.length > 0);
      expect(logs).toEqual([{ level: 'error', logger: `${connection}/fixture`, data: 'error from caller' }]);

      // The bystander's own call shows its messages arrive; the caller's never did.
      expect(textOf(await call(bystander, `${connection}_log`, { tag: 'bystander' }))).toBe('logged bystander');
      await waitFor('the bystander’s error message', () => bystanderLogs.some((log) => log.level === 'error'));
      expect(bystanderLogs.map((log) => log.data)).toEqual(['info from bystander', 'error from bystander']);
      expect(logs).toHaveLength(1);
    }, SLOW);

    it('refuses a request sent while no call is in flight', async () => {
      const client = await askingClient();
      expect(textOf(await call(client, `${connection}_elicit_later`))).toBe('scheduled');
      const outcome = await waitFor('the downstream to hear back', async () => {
        const text = textOf(await call(client, `${connection}_last_unattributed`));
        return text === 'pending' ? null : text;
      });
      expect(outcome).toContain('refused:');
      expect(outcome).toContain('Gatehouse cannot tell which call this elicitation/create request belongs to');
    }, SLOW);

    it('refuses a flood of requests in one call past its limits, and stays up', async () => {
      const asked: ElicitRequest['params'][] = [];
      const client = await askingClient({ asked });
      const result = JSON.parse(textOf(await call(client, `${connection}_elicit_flood`, { count: 1000 }))) as { answered: number; refused: number; firstRefusal: string };
      expect(result.answered).toBeLessThanOrEqual(32);
      expect(result.answered).toBe(asked.length);
      expect(result.refused).toBe(1000 - result.answered);
      expect(result.firstRefusal).toContain('Gatehouse relays at most');
      expect(textOf(await call(client, `${connection}_elicit_form`, { label: 'after' }))).toBe('action:accept name:Ada label:after');
    }, SLOW);
  });

  it('gives two sessions calling at once each their own request over HTTP', async () => {
    const askedA: ElicitRequest['params'][] = [];
    const askedB: ElicitRequest['params'][] = [];
    const a = await askingClient({ name: 'A', asked: askedA });
    const b = await askingClient({ name: 'B', asked: askedB, token: ACME_MEMBER_KEY });
    const [resultA, resultB] = await Promise.all([call(a, 'web_elicit_together', { label: 'a' }), call(b, 'web_elicit_together', { label: 'b' })]);
    expect(textOf(resultA)).toBe('action:accept name:A label:a');
    expect(textOf(resultB)).toBe('action:accept name:B label:b');
    expect(askedA.map((params) => params.message)).toEqual(['Who is asking? (a)']);
    expect(askedB.map((params) => params.message)).toEqual(['Who is asking? (b)']);
  }, SLOW);

  it('refuses both requests over stdio when two calls are in flight (it cannot tell whose they are)', async () => {
    const asked: ElicitRequest['params'][] = [];
    const a = await askingClient({ asked });
    const b = await askingClient({ asked });
    const results = await Promise.all([call(a, 'local_elicit_together', { label: 'a' }), call(b, 'local_elicit_together', { label: 'b' })]);
    for (const result of results) {
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('cannot tell which call this elicitation/create request belongs to (several calls are in flight on this connection)');
    }
    expect(asked).toEqual([]);
  }, SLOW);

  it("records each relayed request with the call's id, the answer redacted as arguments are", async () => {
    const client = await askingClient({ name: 'Grace' });
    expect(textOf(await call(client, 'web_elicit_form', { label: 'audited' }))).toBe('action:accept name:Grace label:audited');
    const [org] = await query<{ id: string }>(gateway.databaseUrl, "SELECT id::text FROM organizations WHERE slug = 'acme'");
    const records = await waitFor('the relay record', async () => {
      const rows = await query<{ call_id: string; outcome: string; data: Record<string, unknown>; target: Record<string, unknown> }>(
        gateway.databaseUrl,
        `SELECT r.call_id::text, r.outcome, r.data, r.target FROM audit_records r
          WHERE r.organization_id = $1 AND r.kind = 'mcp.elicitation.relayed'
            AND r.call_id IN (SELECT call_id FROM audit_records WHERE kind = 'tools.call.request' AND data->'arguments'->>'label' = 'audited')`,
        [org!.id],
      );
      return rows.length > 0 ? rows : null;
    });
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record!.outcome).toBe('success');
    expect(record!.target).toEqual({ type: 'tool', connection: 'web', tool: 'web_elicit_form' });
    expect(record!.data).toMatchObject({ mode: 'form', fields: ['name'], action: 'accept' });
    const answer = record!.data['answer'] as { name: string };
    expect(answer.name).toMatch(/^hmac-sha256:/);
    expect(JSON.stringify(record!.data)).not.toContain('Grace');
  }, SLOW);

  describe('the fast path’s requests, attacked', () => {
    it("does not let another session or principal answer a session's request", async () => {
      const owner = await RawAskingSession.open(gateway.mcpUrl, ACME_KEY, ASKING);
      const sameKey = await RawAskingSession.open(gateway.mcpUrl, ACME_KEY, ASKING);
      const member = await RawAskingSession.open(gateway.mcpUrl, ACME_MEMBER_KEY, ASKING);
      const otherOrg = await RawAskingSession.open(gateway.mcpUrl, OTHER_KEY, ASKING);
      const reply = await owner.stream({ jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'web_elicit_form', arguments: { label: 'owned' } } });
      const request = await reply.next(isElicitation);
      expect(request['id']).toEqual(expect.stringMatching(/^gatehouse-relay-[A-Za-z0-9_-]{22}$/));
      const forged = { jsonrpc: '2.0', id: request['id'], result: { action: 'accept', content: { name: 'Mallory' } } };

      // Another session of the same key, and of another key, answer on their own sessions: it reaches nothing.
      for (const intruder of [sameKey, member, otherOrg]) {
        const answered = await intruder.post(forged);
        await answered.text();
      }
      // Another principal presenting the owner's session is not let in at all.
      for (const token of [ACME_MEMBER_KEY, OTHER_KEY]) {
        const answered = await owner.post(forged, token);
        expect(answered.status).toBe(404);
        await answered.text();
      }
      const real = await owner.post({ jsonrpc: '2.0', id: request['id'], result: { action: 'accept', content: { name: 'Ada' } } });
      expect(real.status).toBe(202);
      expect(resultText(await reply.next(isReplyTo('call-1')))).toBe('action:accept name:Ada label:owned');
      // Answered once: a replay reaches nothing either.
      const replayed = await owner.post(forged);
      await replayed.text();
      expect(replayed.status).toBe(202);
    }, SLOW);

    it('refuses an answer that is not a valid result, or over 1 MiB, and one over the body limit leaves the call to its deadline', async () => {
      const session = await RawAskingSession.open(gateway.mcpUrl, ACME_KEY, ASKING);
      const garbage = await session.stream({ jsonrpc: '2.0', id: 'g', method: 'tools/call', params: { name: 'web_elicit_form', arguments: { label: 'garbage' } } });
      const asked = await garbage.next(isElicitation);
      expect((await session.post({ jsonrpc: '2.0', id: asked['id'], result: { action: 'maybe', content: 42 } })).status).toBe(202);
      expect(resultText(await garbage.next(isReplyTo('g')))).toContain("The client's answer to elicitation/create is not a valid result");

      const large = await session.stream({ jsonrpc: '2.0', id: 'l', method: 'tools/call', params: { name: 'web_elicit_form', arguments: { label: 'large' } } });
      const askedLarge = await large.next(isElicitation);
      await session.post({ jsonrpc: '2.0', id: askedLarge['id'], result: { action: 'accept', content: { name: 'x'.repeat(2 * 1024 * 1024) } } });
      expect(resultText(await large.next(isReplyTo('l')))).toContain("The client's answer to elicitation/create is larger than 1048576 bytes");

      // 10 MB is past the gateway's body limit: refused unread, so the request waits out the call's deadline (quick: 4 s).
      const huge = await session.stream({ jsonrpc: '2.0', id: 'h', method: 'tools/call', params: { name: 'quick_elicit_form', arguments: { label: 'huge' } } });
      const askedHuge = await huge.next(isElicitation);
      const refused = await session.post({ jsonrpc: '2.0', id: askedHuge['id'], result: { action: 'accept', content: { name: 'x'.repeat(10 * 1024 * 1024) } } });
      expect(refused.status).toBe(413);
      await refused.text();
      const ended = await huge.next(isReplyTo('h'));
      expect(resultText(ended)).toContain('deadline');
      // The client was told the request is withdrawn, and nothing waits for it any more.
      await huge.next((message) => message['method'] === 'notifications/cancelled' && (message['params'] as { requestId?: unknown }).requestId === askedHuge['id']);
      expect(gateway.app.get(PendingClientRequests).size).toBe(0);
    }, SLOW);

    it('bounds a client that never answers by the call’s deadline', async () => {
      const client = await askingClient({ answer: () => new Promise(() => undefined) });
      const result = await call(client, 'quick_elicit_form', { label: 'silent' });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('did not finish the call within its 4000 ms deadline');
      expect(gateway.app.get(PendingClientRequests).size).toBe(0);
    }, SLOW);

    it('cancels the relayed request when the client cancels the call', async () => {
      const session = await RawAskingSession.open(gateway.mcpUrl, ACME_KEY, ASKING);
      const reply = await session.stream({ jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'web_elicit_form', arguments: { label: 'cancel' } } });
      const asked = await reply.next(isElicitation);
      expect((await session.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c', reason: 'changed my mind' } })).status).toBe(202);
      await reply.next((message) => message['method'] === 'notifications/cancelled' && (message['params'] as { requestId?: unknown }).requestId === asked['id']);
      await waitFor('the relay to be withdrawn', () => gateway.app.get(PendingClientRequests).size === 0);
    }, SLOW);
  });

  it('withdraws the request from the client when the downstream cancels it', async () => {
    const session = await RawAskingSession.open(gateway.mcpUrl, ACME_KEY, ASKING);
    const reply = await session.stream({ jsonrpc: '2.0', id: 'w', method: 'tools/call', params: { name: 'web_elicit_impatient', arguments: {} } });
    const asked = await reply.next(isElicitation);
    await reply.next((message) => message['method'] === 'notifications/cancelled' && (message['params'] as { requestId?: unknown }).requestId === asked['id']);
    expect(resultText(await reply.next(isReplyTo('w')))).toContain('relay failed');
    // A late answer reaches nothing.
    const late = await session.post({ jsonrpc: '2.0', id: asked['id'], result: { action: 'accept', content: { name: 'Late' } } });
    await late.text();
    expect(gateway.app.get(PendingClientRequests).size).toBe(0);
  }, SLOW);

  it("relays through the SDK Server's path too (a batched call)", async () => {
    const session = await RawAskingSession.open(gateway.mcpUrl, ACME_KEY, ASKING);
    const reply = await session.stream([{ jsonrpc: '2.0', id: 'batched', method: 'tools/call', params: { name: 'web_elicit_form', arguments: { label: 'batch' } } }]);
    const asked = await reply.next(isElicitation);
    expect(asked['id']).toEqual(expect.stringMatching(/^gatehouse-relay-/));
    expect((await session.post({ jsonrpc: '2.0', id: asked['id'], result: { action: 'accept', content: { name: 'Batch' } } })).status).toBe(202);
    expect(resultText(await reply.next(isReplyTo('batched')))).toBe('action:accept name:Batch label:batch');
  }, SLOW);
});
