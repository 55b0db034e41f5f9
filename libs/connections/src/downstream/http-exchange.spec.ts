import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { EgressPolicy } from '@gatehouse/egress';
import { DownstreamHttp } from './downstream-http';
import { HttpExchange } from './http-exchange';

const CAPS = { maxReplyBytes: 4_096, maxSseEventBytes: 2_048 };
const CALL = { jsonrpc: '2.0' as const, id: 7, method: 'tools/call', params: { name: 'slow', arguments: {} } };
const REPLY = { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'done' }] } };

const sse = (fields: string) => `${fields}\n\n`;

// SEP-1699 from the client's side: a real loopback server that ends a call's event stream before answering, and
// answers the GET that resumes it from the last event id.
describe('HttpExchange resuming a call whose event stream the downstream ended (SEP-1699)', () => {
  let server: Server;
  let url: URL;
  let answer: (request: IncomingMessage, response: ServerResponse) => void;
  let http: DownstreamHttp;
  let exchange: HttpExchange;
  let seen: { method: string; lastEventId: string | undefined; session: string | undefined; version: string | undefined }[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push({
        method: request.method ?? '',
        lastEventId: request.headers['last-event-id'] as string | undefined,
        session: request.headers['mcp-session-id'] as string | undefined,
        version: request.headers['mcp-protocol-version'] as string | undefined,
      });
      request.resume();
      request.on('end', () => answer(request, response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    http = new DownstreamHttp(url, 'remote', CAPS, new EgressPolicy(['127.0.0.1']));
    exchange = new HttpExchange(http, { connection: 'remote', url, headers: {}, caps: CAPS });
    seen = [];
  });

  afterEach(() => http.close());

  const call = (signal = new AbortController().signal) => {
    const messages: JSONRPCMessage[] = [];
    const reply = exchange.send({ sessionId: 'session-1', protocolVersion: '2025-11-25' }, CALL, (message) => messages.push(message), signal);
    return { reply, messages };
  };
  const stream = (response: ServerResponse, body: string) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.end(body);
  };

  it('comes back with GET and the last event id after the retry interval, and takes the reply from there', async () => {
    const log = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'closing' } };
    answer = (request, response) =>
      request.method === 'POST'
        ? stream(response, sse('id: e1\nretry: 20\ndata: ') + sse(`id: e2\ndata: ${JSON.stringify(log)}`))
        : // An SDK server's event store replays a priming event as `{}`: not a message.
          stream(response, sse('id: e1\ndata: {}') + sse(`id: e3\ndata: ${JSON.stringify(REPLY)}`));

    const { reply, messages } = call();

    await expect(reply).resolves.toEqual(REPLY);
    expect(messages).toEqual([log]);
    expect(seen).toEqual([
      { method: 'POST', lastEventId: undefined, session: 'session-1', version: '2025-11-25' },
      { method: 'GET', lastEventId: 'e2', session: 'session-1', version: '2025-11-25' },
    ]);
  });

  it('resumes as often as the downstream ends the stream, each time from the newest id', async () => {
    let gets = 0;
    answer = (request, response) => {
      if (request.method === 'POST') return stream(response, sse('id: p0\nretry: 10\ndata: '));
      gets += 1;
      stream(response, gets < 3 ? sse(`id: g${gets}\ndata: `) : sse(`data: ${JSON.stringify(REPLY)}`));
    };

    await expect(call().reply).resolves.toEqual(REPLY);
    expect(seen.map(({ method, lastEventId }) => `${method} ${lastEventId ?? ''}`.trim())).toEqual(['POST', 'GET p0', 'GET g1', 'GET g2']);
  });

  it('fails clearly when the stream ends with no event id to resume from', async () => {
    answer = (_request, response) => stream(response, sse(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } })}`));

    await expect(call().reply).rejects.toThrow('the downstream ended the event stream without answering the call');
    expect(seen).toHaveLength(1);
  });

  it('fails clearly when the downstream refuses to resume', async () => {
    answer = (request, response) => (request.method === 'POST' ? stream(response, sse('id: e1\nretry: 10\ndata: ')) : response.writeHead(405).end());

    await expect(call().reply).rejects.toThrow("the downstream ended the call's event stream and refused to resume it (HTTP 405)");
  });

  it('stops waiting to resume when the call is aborted (its deadline, or the client gone)', async () => {
    // A retry of 30 s: only the abort can end the wait.
    answer = (request, response) => (request.method === 'POST' ? stream(response, sse('id: e1\nretry: 30000\ndata: ')) : stream(response, sse(`data: ${JSON.stringify(REPLY)}`)));
    const controller = new AbortController();
    const { reply } = call(controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));

    controller.abort(new Error('the call timed out'));

    await expect(reply).rejects.toThrow('the call timed out');
    expect(seen.map(({ method }) => method)).toEqual(['POST']);
  });

  it('holds a resumed stream to the byte caps as it does the first', async () => {
    const huge = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x'.repeat(3_000) } };
    answer = (request, response) => (request.method === 'POST' ? stream(response, sse('id: e1\nretry: 10\ndata: ')) : stream(response, sse(`data: ${JSON.stringify(huge)}`)));

    await expect(call().reply).rejects.toThrow(/remote/);
    expect(seen.map(({ method }) => method)).toEqual(['POST', 'GET']);
  });
});
