import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { EgressPolicy } from '@gatehouse/egress';
import type { SinkBatch, SinkEvent } from '../sink-event';
import { SyslogTransport } from './syslog.transport';

const LOOPBACK_ALLOWED = new EgressPolicy(['127.0.0.1']);

const event = (seq: number): SinkEvent => ({
  eventId: `id-${seq}`,
  seq: BigInt(seq),
  occurredAt: new Date(1_700_000_000_000),
  kind: 'auth.sign_in',
  outcome: 'success',
  json: `{"seq":${seq},"text":"é"}`,
});
const batch = (first: number, last: number): SinkBatch => ({
  sinkId: 'sink',
  firstSeq: BigInt(first),
  lastSeq: BigInt(last),
  events: Array.from({ length: last - first + 1 }, (_, i) => event(first + i)),
});

// Splits an RFC 6587 octet-counted stream into messages.
function frames(data: Buffer): string[] {
  const messages: string[] = [];
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = Number(data.subarray(offset, space).toString('ascii'));
    messages.push(data.subarray(space + 1, space + 1 + length).toString('utf8'));
    offset = space + 1 + length;
  }
  return messages;
}

describe('SyslogTransport', () => {
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];
  let received: Buffer;

  beforeEach(async () => {
    received = Buffer.alloc(0);
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    sockets.splice(0).forEach((socket) => socket.destroy());
    await new Promise((resolve) => server.close(resolve));
  });

  const transport = (onDoubt: (afterSeq: bigint) => void) =>
    new SyslogTransport({ type: 'syslog', host: '127.0.0.1', port, tls: false, batchSize: 100 }, { sinkId: 'sink', secret: null, egress: LOOPBACK_ALLOWED, onDoubt });

  it('sends octet-counted RFC 5424 messages over one connection', async () => {
    const syslog = transport(() => undefined);
    await syslog.send(batch(1, 2));
    await syslog.send(batch(3, 3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const messages = frames(received);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toMatch(/^<110>1 2023-11-14T22:13:20\.000Z \S+ gatehouse \d+ auth\.sign_in - \{"seq":1,"text":"é"\}$/);
    expect(sockets).toHaveLength(1);
    syslog.close();
  });

  it('asks for what it wrote recently to be sent again when the receiver drops the connection', async () => {
    const doubts: bigint[] = [];
    const syslog = transport((afterSeq) => doubts.push(afterSeq));
    await syslog.send(batch(5, 7));
    await syslog.send(batch(8, 9));
    sockets[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(doubts).toEqual([4n]);
    // The next send opens a new connection.
    await syslog.send(batch(5, 9));
    expect(sockets).toHaveLength(2);
    syslog.close();
  });

  it('refuses a receiver the egress policy does not allow, before connecting', async () => {
    const syslog = new SyslogTransport(
      { type: 'syslog', host: '127.0.0.1', port, tls: false, batchSize: 100 },
      { sinkId: 's', secret: null, egress: new EgressPolicy([]), onDoubt: () => undefined },
    );
    await expect(syslog.send(batch(1, 1))).rejects.toThrow('127.0.0.1 is a loopback address');
    const named = new SyslogTransport(
      { type: 'syslog', host: 'localhost', port, tls: true, batchSize: 100 },
      { sinkId: 's', secret: null, egress: new EgressPolicy([]), onDoubt: () => undefined },
    );
    await expect(named.send(batch(1, 1))).rejects.toThrow(/localhost resolves to .*loopback/);
    expect(sockets).toHaveLength(0);
    syslog.close();
    named.close();
  });

  it('fails when nothing listens', async () => {
    const syslog = new SyslogTransport({ type: 'syslog', host: '127.0.0.1', port: 1, tls: false, batchSize: 100 }, { sinkId: 's', secret: null, egress: LOOPBACK_ALLOWED, onDoubt: () => undefined });
    await expect(syslog.send(batch(1, 1))).rejects.toThrow(/syslog tcp:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    syslog.close();
  });
});
