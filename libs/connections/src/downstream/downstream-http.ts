import http from 'node:http';
import https from 'node:https';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { EgressPolicy, egressAgent, egressFetch, Fetch } from '@gatehouse/egress';
import { bodyMeter, BodyMeter, ByteCaps } from './byte-meters';
import { ByteCap, downstreamTooLarge } from './downstream.errors';

/**
 * Every HTTP request to one connection's downstream goes out here: the fetch its SDK transport is given, and
 * the keep-alive agent HttpExchange's tools/call requests use. Both connect only where the egress policy allows
 * (the address vetted, the socket pinned to it), and bodies are counted as they arrive, against the
 * connection's byte caps.
 */
export class DownstreamHttp {
  private readonly agent: http.Agent;
  private readonly send: typeof http.request;
  private readonly vettedFetch: Fetch;

  constructor(
    url: URL,
    private readonly connection: string,
    private readonly caps: ByteCaps,
    egress: EgressPolicy,
  ) {
    this.agent = egressAgent(egress, url.protocol, { keepAlive: true });
    this.send = url.protocol === 'https:' ? https.request : http.request;
    this.vettedFetch = egressFetch(egress);
  }

  /**
   * A fetch whose responses are standard web Responses with streaming bodies, counted per event for event
   * streams and whole otherwise. A body that passes a cap is cut off (its connection closed), errors with
   * the reason, and `onOverCap` is told: an SDK transport mid-stream cannot be trusted to recover by itself.
   */
  fetch(onOverCap: (cap: ByteCap) => void): FetchLike {
    return async (url, init) => {
      const response = await this.vettedFetch(url, init);
      if (!response.body) return response;
      return meteredResponse(response, bodyMeter(response.headers.get('content-type'), this.caps), (cap) => {
        onOverCap(cap);
        return downstreamTooLarge(this.connection, cap, this.caps[cap]);
      });
    };
  }

  /** A request on the connection's keep-alive agent; the caller counts the response with bodyMeter. */
  request(url: URL, options: http.RequestOptions): http.ClientRequest {
    return this.send(url, { ...options, agent: this.agent });
  }

  close(): void {
    this.agent.destroy();
  }
}

function meteredResponse(response: Response, meter: BodyMeter, overCap: (cap: ByteCap) => Error): Response {
  const source = response.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await source.read();
      if (done) return controller.close();
      const over = meter.feed(value);
      if (!over) return controller.enqueue(value);
      const error = overCap(over);
      controller.error(error);
      await source.cancel(error).catch(() => undefined);
    },
    cancel: (reason) => source.cancel(reason),
  });
  const metered = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  // The SDK names a redirect's target from the response's URL, which a constructed Response does not have.
  Object.defineProperty(metered, 'url', { value: response.url });
  return metered;
}
