import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { egressAgent } from './egress-agents';
import type { EgressPolicy } from './egress-policy';

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface EgressFetchOptions {
  /** PEM CA certificates trusted besides the public roots (https). */
  ca?: string | string[];
  /** A response body longer than this fails while it is read (the stream errors); unbounded when absent. */
  maxResponseBytes?: number;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** The response body as a web stream that errors once more than `limit` bytes have arrived. */
function boundedBody(response: http.IncomingMessage, limit: number | undefined, url: URL): ReadableStream<Uint8Array> {
  if (limit !== undefined) {
    let received = 0;
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) response.destroy(new Error(`${url.origin} sent a response larger than ${limit} bytes`));
    });
  }
  return Readable.toWeb(response) as unknown as ReadableStream<Uint8Array>;
}

/**
 * A WHATWG fetch over node:http whose every connection obeys the egress policy, for the libraries that take a
 * fetch (the MCP SDK's transports, openid-client) and for our own requests. Redirects are never followed: a 3xx
 * is returned as it is (the SDK follows within an origin itself; nothing else of ours needs them), or fails with
 * `redirect: 'error'`.
 */
export function egressFetch(policy: EgressPolicy, options: EgressFetchOptions = {}): Fetch {
  const agents = {
    'http:': egressAgent(policy, 'http:', { keepAlive: true }),
    'https:': egressAgent(policy, 'https:', { keepAlive: true, ...(options.ca ? { ca: options.ca } : {}) }),
  };
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`fetch: ${url.protocol} URLs are not supported`);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name] = value));
    if (body) headers['content-length'] = String(body.length);
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<Response>((resolve, reject) => {
      const outgoing = send(url, { method: request.method, headers, agent: agents[url.protocol as 'http:' | 'https:'], signal: request.signal });
      outgoing.on('error', reject);
      outgoing.on('response', (response) => {
        const status = response.statusCode ?? 0;
        if (request.redirect === 'error' && status >= 300 && status < 400) {
          response.destroy();
          return reject(new TypeError(`fetch: ${url.origin} answered with a redirect (HTTP ${status})`));
        }
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) responseHeaders.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
        const nullBody = request.method === 'HEAD' || NULL_BODY_STATUSES.has(status);
        if (nullBody) response.resume();
        resolve(
          new Response(nullBody ? null : (boundedBody(response, options.maxResponseBytes, url) as unknown as WebReadableStream as never), {
            status,
            statusText: response.statusMessage ?? '',
            headers: responseHeaders,
          }),
        );
      });
      outgoing.end(body);
    });
  };
}
