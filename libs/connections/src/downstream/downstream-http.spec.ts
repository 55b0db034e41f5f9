import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { EgressPolicy } from '@gatehouse/egress';
import type { ByteCap } from './downstream.errors';
import { DownstreamHttp } from './downstream-http';

const CAPS = { maxReplyBytes: 1_024, maxSseEventBytes: 2_048 };

// A real loopback server: each test sets what it answers.
describe('DownstreamHttp.fetch', () => {
  let server: Server;
  let url: URL;
  let answer: (request: IncomingMessage, response: ServerResponse) => void;
  let http: DownstreamHttp;
  let overCaps: ByteCap[];

  beforeAll(async () => {
    server = createServer((request, response) => answer(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    http = new DownstreamHttp(url, 'remote', CAPS, new EgressPolicy(['127.0.0.1']));
    overCaps = [];
  });

  afterEach(() => http.close());

  const fetchBody = async () => {
    const response = await http.fetch((cap) => overCaps.push(cap))(url, { method: 'POST' });
    return { response, text: response.text() };
  };

  it('connects only where the egress policy allows, for the SDK’s fetch and for its own requests', async () => {
    const refused = new DownstreamHttp(url, 'remote', CAPS, new EgressPolicy([]));
    let reached = false;
    answer = (_request, response) => {
      reached = true;
      response.end('{}');
    };
    await expect(refused.fetch(() => undefined)(url, { method: 'POST' })).rejects.toThrow('127.0.0.1 is a loopback address');
    await expect(refused.request(url, { method: 'POST' })).rejects.toThrow('platform.egress.allow');
    // A name, resolved through the policy: refused before a packet is sent too.
    const named = new URL(url.href.replace('127.0.0.1', 'localhost'));
    const refusedByName = new DownstreamHttp(named, 'remote', CAPS, new EgressPolicy([]));
    await expect(refusedByName.request(named, { method: 'POST' })).rejects.toThrow('platform.egress.allow');
    refusedByName.close();
    expect(reached).toBe(false);
    refused.close();
  });

  it('passes a JSON body of exactly maxReplyBytes and fails one byte over with the cap named', async () => {
    let size = CAPS.maxReplyBytes;
    answer = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('x'.repeat(size));
    const exact = await fetchBody();
    expect(exact.response).toBeInstanceOf(Response);
    expect(exact.response.status).toBe(200);
    expect(await exact.text).toHaveLength(CAPS.maxReplyBytes);
    expect(overCaps).toEqual([]);

    size = CAPS.maxReplyBytes + 1;
    const over = await fetchBody();
    const error = await over.text.then(() => null, (rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe(ErrorCode.DownstreamTooLarge);
    expect((error as GatehouseError).message).toBe('Connection "remote" sent a reply larger than 1 KiB (maxReplyBytes); the call was stopped');
    expect(overCaps).toEqual(['maxReplyBytes']);
  });

  it('caps an event stream per event, and cuts off an endless one as it arrives', async () => {
    const event = `data: ${'x'.repeat(CAPS.maxReplyBytes)}\n\n`;
    answer = (_request, response) => response.writeHead(200, { 'content-type': 'text/event-stream' }).end(event.repeat(20));
    expect(await (await fetchBody()).text).toBe(event.repeat(20));
    expect(overCaps).toEqual([]);

    let serverSawClose: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: ');
      // Never ends the line: only the meter stops it, and the server sees its connection closed.
      const timer = setInterval(() => response.write('x'.repeat(512)), 1);
      response.on('close', () => {
        clearInterval(timer);
        serverSawClose();
      });
    };
    const endless = await fetchBody();
    const error = await endless.text.then(() => null, (rejection: unknown) => rejection);
    expect((error as GatehouseError).message).toContain('sent a reply larger than 1 KiB (maxReplyBytes)');
    expect(overCaps).toEqual(['maxReplyBytes']);
    await closed;
  });

  it('returns a Response whose body streams before the downstream has finished', async () => {
    let finish: () => void = () => undefined;
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: first\n\n');
      finish = () => response.end('data: second\n\n');
    };
    const response = await http.fetch(() => undefined)(url, { method: 'GET' });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('data: first\n\n');
    finish();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe('data: second\n\n');
    expect((await reader.read()).done).toBe(true);
  });
});
