import { createServer, IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';

// A loopback HTTP proxy that adds `Authorization: Bearer <token>` to every request and passes everything else
// through as it came: method, path, Host and Origin (the DNS-rebinding scenario sends hostile ones and expects the
// server's own refusal), Last-Event-ID, and bodies and event streams in both directions, unbuffered. Clients that
// cannot send credentials (the MCP conformance suite) reach the gateway through it.

export interface BearerProxyUpstream {
  /** Where requests go, e.g. http://127.0.0.1:3000 (the request's path is kept). */
  origin: string;
  token: string;
}

export interface BearerProxy {
  /** The proxy's own origin, e.g. http://127.0.0.1:41234. */
  origin: string;
  close(): Promise<void>;
}

// Per connection, never forwarded (RFC 9110 §7.6.1); Node frames the bodies itself on each side.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept = { ...headers };
  for (const name of HOP_BY_HOP) delete kept[name];
  return kept;
}

/**
 * `upstream` is read per request, so the proxy can start (and its origin be given to the gateway as its public URL)
 * before the gateway and its key exist; until then requests get 503.
 */
export async function startBearerProxy(upstream: () => BearerProxyUpstream | null): Promise<BearerProxy> {
  const server = createServer((incoming, outgoing) => {
    const target = upstream();
    if (!target) {
      outgoing.writeHead(503, { 'content-type': 'text/plain' }).end('the proxy has no upstream yet');
      return;
    }
    const { hostname, port } = new URL(target.origin);
    const forwarded = request(
      {
        host: hostname,
        port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...endToEnd(incoming.headers), authorization: `Bearer ${target.token}` },
        agent: false,
      },
      (reply) => {
        outgoing.writeHead(reply.statusCode ?? 502, reply.statusMessage, endToEnd(reply.headers));
        // Event streams go out as they arrive.
        outgoing.flushHeaders();
        reply.pipe(outgoing);
      },
    );
    forwarded.setNoDelay(true);
    forwarded.on('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' }).end('upstream unreachable');
      else outgoing.destroy();
    });
    // A client that goes away (a closed event stream) closes the upstream request too, as it would have directly.
    outgoing.on('close', () => forwarded.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
