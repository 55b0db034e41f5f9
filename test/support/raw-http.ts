import { IncomingHttpHeaders, request } from 'node:http';

// HTTP as a hostile client sends it: the path exactly as given (fetch would normalize "..", percent-encoding and
// the method), any method token, any header value Node lets through, and any body bytes.

export interface RawRequest {
  method: string;
  /** Sent as is: may hold "..", stray "%" and query strings that a URL object would rewrite. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Rejects when no complete response arrives within `timeoutMs`: a request that hangs is a failure, not a wait.
 * A GET answered with an event stream (MCP's notification stream) never ends by design: it resolves, with an
 * empty body, as soon as its head arrives.
 */
export function rawRequest(baseUrl: string, raw: RawRequest, timeoutMs: number): Promise<RawReply> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    // Node sends a DELETE's or an OPTIONS' body without a length unless told it: the server would read it as the next request.
    const headers = raw.body === undefined ? raw.headers : { ...raw.headers, 'content-length': String(Buffer.byteLength(raw.body)) };
    const outgoing = request({ host: hostname, port, method: raw.method, path: raw.path, headers, agent: false }, (response) => {
      const reply = (body: string) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      if (raw.method === 'GET' && String(response.headers['content-type']).startsWith('text/event-stream')) {
        reply('');
        outgoing.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => reply(Buffer.concat(chunks).toString('utf8')));
    });
    const deadline = setTimeout(() => outgoing.destroy(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    outgoing.on('close', () => clearTimeout(deadline));
    outgoing.on('error', reject);
    outgoing.end(raw.body);
  });
}
