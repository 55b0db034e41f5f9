import { Agent, IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EgressPolicy, egressAgent } from '@gatehouse/egress';
import { SEND_TIMEOUT_MS, trustingCa } from './sink-transport';

// What a receiver answers is only read for its status and a short JSON reply (HEC's {code, text}).
const MAX_REPLY_BYTES = 64 * 1024;

export interface HttpReply {
  status: number;
  body: string;
}

// node:http with an egress agent: one keep-alive connection per sink, so a backlog is sent over one connection,
// to an address the egress policy vetted.
export class HttpPoster {
  private readonly agent: Agent;

  constructor(
    private readonly url: URL,
    caFile: string | undefined,
    egress: EgressPolicy,
  ) {
    this.agent = egressAgent(egress, url.protocol, { keepAlive: true, maxSockets: 1, ...(url.protocol === 'https:' ? trustingCa(caFile) : {}) });
  }

  post(headers: Record<string, string>, body: string): Promise<HttpReply> {
    const request = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<HttpReply>((resolve, reject) => {
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), ...headers },
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        },
        (res) => readReply(res).then(resolve, reject),
      );
      // Error messages name the URL, never the headers (they carry the token or signature).
      req.on('error', (error) => reject(new Error(`POST ${this.url.origin}${this.url.pathname}: ${error.message}`)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

async function readReply(res: IncomingMessage): Promise<HttpReply> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    if (size < MAX_REPLY_BYTES) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_REPLY_BYTES) };
}
