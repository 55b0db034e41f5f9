import { connect as connectTcp, isIP, Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { AuditSinkSettings } from '@gatehouse/config';
import type { SinkBatch } from '../sink-event';
import { octetCounted, syslogMessage } from './syslog-message';
import { SEND_TIMEOUT_MS, SinkTransport, TransportContext, trustingCa } from './sink-transport';

type SyslogSettings = Extract<AuditSinkSettings, { type: 'syslog' }>;

// TCP syslog has no application-level acknowledgement: a write callback only means the kernel accepted the
// bytes. When the connection drops, what was written shortly before may still have been in the kernel's
// buffers or the receiver's queue, so the batches written within the last REPLAY_WINDOW_MS, and at least the
// last REPLAY_BYTES (what socket buffers hold when a receiver stops reading), are sent again: duplicates,
// identical and with the same eventId, rather than gaps. A receiver that vanishes without closing the
// connection is noticed by TCP keep-alive or a write that does not complete: the limit of the protocol
// (RELP exists for acknowledged delivery).
const REPLAY_WINDOW_MS = 3_000;
const REPLAY_BYTES = 4 * 1024 * 1024;
const KEEPALIVE_MS = 10_000;

interface Written {
  firstSeq: bigint;
  bytes: number;
  at: number;
}

/** RFC 5424 messages over one persistent TCP (RFC 6587, octet counting) or TLS (RFC 5425) connection. */
export class SyslogTransport implements SinkTransport {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private written: Written[] = [];
  private closed = false;

  constructor(
    private readonly settings: SyslogSettings,
    private readonly context: TransportContext,
  ) {}

  async send(batch: SinkBatch): Promise<void> {
    const socket = await this.connection();
    const data = Buffer.concat(batch.events.map((event) => octetCounted(syslogMessage(event))));
    this.remember({ firstSeq: batch.firstSeq, bytes: data.length, at: Date.now() });
    await new Promise<void>((resolve, reject) => {
      const fail = (message: string) => {
        clearTimeout(timer);
        this.lost(socket);
        reject(new Error(`syslog ${this.address()}: ${message}`));
      };
      // A receiver that stopped reading fills the socket buffers, and the write never completes.
      const timer = setTimeout(() => fail(`write not accepted within ${SEND_TIMEOUT_MS} ms`), SEND_TIMEOUT_MS);
      socket.write(data, (error) => {
        if (error) return fail(error.message);
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
  }

  private address(): string {
    return `${this.settings.tls ? 'tls' : 'tcp'}://${this.settings.host}:${this.settings.port}`;
  }

  private connection(): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error('syslog transport closed'));
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= this.open().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private open(): Promise<Socket> {
    const { host, port, tls, caFile } = this.settings;
    return new Promise<Socket>((resolve, reject) => {
      try {
        this.context.egress.checkLiteral(host);
      } catch (error) {
        return reject(new Error(`syslog ${this.address()}: ${(error as Error).message}`));
      }
      const ready = tls ? 'secureConnect' : 'connect';
      // A host name goes through the egress policy's lookup: the socket connects to the address it vetted.
      const lookup = this.context.egress.lookup;
      const socket: Socket = tls
        ? connectTls({
            host,
            port,
            lookup,
            // SNI takes names only; the certificate is still checked against an IP address host.
            ...(isIP(host) ? {} : { servername: host }),
            ...trustingCa(caFile),
          })
        : connectTcp({ host, port, lookup });
      const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${SEND_TIMEOUT_MS} ms`)), SEND_TIMEOUT_MS);
      const failed = (error: Error) => {
        clearTimeout(timer);
        reject(new Error(`syslog ${this.address()}: ${error.message}`));
      };
      socket.once('error', failed);
      socket.once(ready, () => {
        clearTimeout(timer);
        socket.off('error', failed);
        socket.setKeepAlive(true, KEEPALIVE_MS);
        // Receivers send nothing back; reading keeps a peer's close (FIN) from going unnoticed.
        socket.on('data', () => undefined);
        socket.on('error', () => this.lost(socket));
        socket.on('close', () => this.lost(socket));
        this.socket = socket;
        this.written = [];
        resolve(socket);
      });
    });
  }

  // Keeps the writes that would be in doubt if the connection dropped now (see REPLAY_WINDOW_MS).
  private remember(write: Written): void {
    this.written.push(write);
    const since = write.at - REPLAY_WINDOW_MS;
    let bytes = 0;
    let keep = this.written.length;
    while (keep > 0) {
      const older = this.written[keep - 1]!;
      if (older.at < since && bytes >= REPLAY_BYTES) break;
      bytes += older.bytes;
      keep--;
    }
    if (keep > 0) this.written = this.written.slice(keep);
  }

  // Idempotent per socket: error and close both end here.
  private lost(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    socket.destroy();
    const doubtful = this.written;
    this.written = [];
    if (this.closed || doubtful.length === 0) return;
    // Batches go out in seq order on one connection: the oldest kept write starts the replay.
    this.context.onDoubt(doubtful[0]!.firstSeq - 1n);
  }
}
