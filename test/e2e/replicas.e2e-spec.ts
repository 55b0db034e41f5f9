import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, textOf } from '../support/mcp-client';
import { postMcp, RawAskingSession, RawSession, SseReply } from '../support/raw-mcp';
import { RunningServer, startContentHttp, startRelayHttp } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const KEYS = {
  admin: 'ghk_test_replicas_acme_admin_key_01',
  member: 'ghk_test_replicas_acme_member_key_2',
  other: 'ghk_test_replicas_other_admin_key_03',
};
const ASKING = { elicitation: { form: {} } };

const isElicitation = (message: Record<string, unknown>) => message['method'] === 'elicitation/create';
const isReplyTo = (id: unknown) => (message: Record<string, unknown>) => message['id'] === id && ('result' in message || 'error' in message);

type SseEvent = Awaited<ReturnType<SseReply['event']>>;

/** A session's GET stream read raw (event ids included), optionally resuming after `lastEventId`. */
async function openEvents(mcpUrl: string, token: string, sessionId: string, lastEventId?: string) {
  const abort = new AbortController();
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', 'Mcp-Session-Id': sessionId };
  if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
  const response = await fetch(mcpUrl, { headers, signal: abort.signal });
  if (response.status !== 200) throw new Error(`GET answered ${response.status}`);
  const reply = new SseReply(response);
  return { event: (n: number) => reply.event(n), close: () => abort.abort() };
}

const updatedUri = (event: SseEvent) => (event.message['params'] as { uri?: string }).uri;

/** A fetch that sends each request to the next replica in turn (a balancer without affinity), counting what each answered. */
function roundRobin(urls: string[]): { fetch: FetchLike; answered: number[] } {
  const answered = urls.map(() => 0);
  let next = 0;
  const fetchAt: FetchLike = async (url, init) => {
    const replica = next++ % urls.length;
    const target = new URL(String(url));
    const base = new URL(urls[replica]!);
    target.host = base.host;
    const response = await fetch(target, init);
    if (response.ok) answered[replica]!++;
    return response;
  };
  return { fetch: fetchAt, answered };
}

describe('sessions shared by two replicas (one database, one Redis prefix)', () => {
  let content: RunningServer;
  let relay: RunningServer;
  let a: TestGateway;
  let b: TestGateway;
  const clients: Client[] = [];

  const sessionRecords = (kind: string, sessionId: string) =>
    query<{ data: Record<string, unknown> }>(a.databaseUrl, "SELECT data FROM audit_records WHERE kind = $1 AND target->>'id' = $2", [kind, sessionId]);

  beforeAll(async () => {
    [content, relay] = await Promise.all([startContentHttp({ CONTENT_LABEL: 'shared' }), startRelayHttp()]);
    const yaml = `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
      - { name: member, role: member, secretEnv: MEMBER_KEY }
    defaultEffect: allow
    connections:
      - { name: docs, transport: http, url: "${content.url}" }
      - { name: web, transport: http, url: "${relay.url}" }
  - slug: other
    name: Other
    apiKeys:
      - { name: admin, role: admin, secretEnv: OTHER_KEY }
`;
    const vars = { ADMIN_KEY: KEYS.admin, MEMBER_KEY: KEYS.member, OTHER_KEY: KEYS.other };
    a = await startGateway({ yaml, vars });
    b = await startGateway({ yaml, vars, databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled([content?.stop(), relay?.stop()]);
  });

  it('serves one session on both: calls, a log level and a subscription, initialized once', async () => {
    const balancer = roundRobin([a.mcpUrl, b.mcpUrl]);
    const client = await connectClient(a.mcpUrl, KEYS.admin, 'replicas', { fetch: balancer.fetch, capabilities: ASKING });
    clients.push(client);
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updates.push(notification.params.uri));

    for (let i = 0; i < 40; i++) {
      expect(textOf(await client.callTool({ name: 'docs_touch', arguments: { uri: `docs://note-${i}` } }))).toBe(`touched docs://note-${i}`);
    }
    await client.subscribeResource({ uri: 'docs://docs/readme' });
    // The subscription is held by whichever replica served the subscribe; the update reaches the session's stream.
    await client.callTool({ name: 'docs_touch', arguments: { uri: 'docs://readme' } });
    await waitFor('the update on the session stream', () => updates.includes('docs://docs/readme'));

    // The level set at one replica holds at the other: an error-level session hears no info.
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void logs.push(notification.params.data));
    await client.setLoggingLevel('error');
    expect(textOf(await client.callTool({ name: 'web_log', arguments: { tag: 'one' } }))).toBe('logged one');
    expect(textOf(await client.callTool({ name: 'web_log', arguments: { tag: 'two' } }))).toBe('logged two');
    // Each call's log messages come on its own stream, before its result.
    expect(logs).toEqual(['error from one', 'error from two']);

    expect(balancer.answered[0]).toBeGreaterThan(20);
    expect(balancer.answered[1]).toBeGreaterThan(20);
    expect(await sessionRecords('mcp.session.started', sessionId)).toHaveLength(1);
  });

  it('relays an elicitation whose answer reaches the other replica, and only from the same session', async () => {
    const owner = await RawAskingSession.open(a.mcpUrl, KEYS.admin, ASKING);
    const sameKey = await RawAskingSession.open(b.mcpUrl, KEYS.admin, ASKING);
    const reply = await owner.stream({ jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'web_elicit_form', arguments: { label: 'across' } } });
    const asked = await reply.next(isElicitation);
    const answer = { jsonrpc: '2.0', id: asked['id'], result: { action: 'accept', content: { name: 'Ada' } } };

    // Another session of the same key replays the answer (its own words) at the other replica: accepted as a message,
    // it answers nothing; the call takes the owner's answer below.
    expect((await sameKey.post({ ...answer, result: { action: 'accept', content: { name: 'Mallory' } } })).status).toBe(202);
    // The owner's session at the other replica, with another principal's credential: no such session there.
    expect((await owner.at(b.mcpUrl).post(answer, KEYS.member)).status).toBe(404);
    // The owner's answer at the other replica settles the call running at the first.
    expect((await owner.at(b.mcpUrl).post(answer)).status).toBe(202);
    expect(textOf((await reply.next(isReplyTo('call-1')))['result'])).toBe('action:accept name:Ada label:across');
  });

  it('answers 404 for another principal, another door, a forged or an oversized session id, at either replica', async () => {
    const session = await RawSession.open(a.mcpUrl, KEYS.admin);
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const at = (url: string, token: string, id: string) => postMcp(url, token, list, { 'Mcp-Session-Id': id });
    for (const url of [a.mcpUrl, b.mcpUrl]) {
      expect((await at(url, KEYS.member, session.id)).status).toBe(404);
      expect((await at(url, KEYS.other, session.id)).status).toBe(404);
      expect((await at(url, KEYS.admin, crypto.randomUUID())).status).toBe(404);
      expect((await at(url, KEYS.admin, 'x'.repeat(5000))).status).toBe(404);
      const missing = await at(url, KEYS.admin, `${session.id}:*`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: -32001, message: 'Session not found: start a new session with initialize' } });
    }
    expect((await at(b.mcpUrl, KEYS.admin, session.id)).status).toBe(200);
    expect((await postMcp(`${b.mcpUrl}/nowhere`, KEYS.admin, list, { 'Mcp-Session-Id': session.id })).status).toBe(404);
  });

  it('ends a session DELETEd at one replica at both, recording its end once', async () => {
    const session = await RawSession.open(a.mcpUrl, KEYS.admin);
    const atB = await postMcp(b.mcpUrl, KEYS.admin, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'Mcp-Session-Id': session.id });
    expect(atB.status).toBe(200);
    const deleted = await fetch(b.mcpUrl, { method: 'DELETE', headers: { Authorization: `Bearer ${KEYS.admin}`, 'Mcp-Session-Id': session.id } });
    expect(deleted.status).toBe(200);
    for (const url of [a.mcpUrl, b.mcpUrl]) {
      expect((await postMcp(url, KEYS.admin, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'Mcp-Session-Id': session.id })).status).toBe(404);
    }
    await waitFor('the end to be recorded', async () => (await sessionRecords('mcp.session.ended', session.id)).length > 0);
    const ended = await sessionRecords('mcp.session.ended', session.id);
    expect(ended).toEqual([{ data: expect.objectContaining({ reason: 'deleted' }) }]);
  });

  it("resumes a notification stream with Last-Event-ID at the other replica; another session's event id gives nothing of theirs", async () => {
    const [mine, theirs] = await Promise.all([RawSession.open(a.mcpUrl, KEYS.admin), RawSession.open(a.mcpUrl, KEYS.admin)]);
    const subscribe = (session: RawSession, uri: string) => session.post({ jsonrpc: '2.0', id: `sub-${uri}`, method: 'resources/subscribe', params: { uri } });
    const touch = (session: RawSession, uri: string) => session.call(`touch-${uri}-${Math.random()}`, 'docs_touch', { uri });
    expect((await subscribe(mine, 'docs://docs/readme')).status).toBe(200);
    expect((await subscribe(theirs, 'docs://docs/pages/intro')).status).toBe(200);

    const first = await openEvents(a.mcpUrl, KEYS.admin, mine.id);
    await touch(mine, 'docs://readme');
    const seen = await first.event(0);
    expect(updatedUri(seen)).toBe('docs://docs/readme');
    expect(seen.id).toMatch(/^\d+-\d+$/);
    const theirStream = await openEvents(b.mcpUrl, KEYS.admin, theirs.id);
    await touch(theirs, 'docs://pages/intro');
    const theirEvent = await theirStream.event(0);
    expect(updatedUri(theirEvent)).toBe('docs://docs/pages/intro');

    // The stream drops (its replica died, say); what happens meanwhile waits in the session's outbox.
    first.close();
    await touch(mine, 'docs://readme');
    await touch(mine, 'docs://readme');
    const resumed = await openEvents(b.mcpUrl, KEYS.admin, mine.id, seen.id!);
    expect([updatedUri(await resumed.event(0)), updatedUri(await resumed.event(1))]).toEqual(['docs://docs/readme', 'docs://docs/readme']);
    expect((await resumed.event(1)).id! > seen.id!).toBe(true);

    // Another session's event id picks a point in time of this session's outbox; one that is not an id at all, its end:
    // this session's own notices only, either way.
    const replayed = await openEvents(a.mcpUrl, KEYS.admin, mine.id, theirEvent.id!);
    const garbage = await openEvents(a.mcpUrl, KEYS.admin, mine.id, '../../*');
    await touch(theirs, 'docs://pages/intro');
    await touch(mine, 'docs://readme');
    expect(updatedUri(await replayed.event(0))).toBe('docs://docs/readme');
    expect(updatedUri(await garbage.event(0))).toBe('docs://docs/readme');
    // Someone else's stream is someone else's: their id at their session is 404 for another principal.
    expect((await fetch(b.mcpUrl, { headers: { Authorization: `Bearer ${KEYS.member}`, Accept: 'text/event-stream', 'Mcp-Session-Id': theirs.id, 'Last-Event-ID': '0-0' } })).status).toBe(404);
    [theirStream, resumed, replayed, garbage].forEach((stream) => stream.close());
  });
});
