import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Dispatcher, Pool } from 'undici';
import { EgressPolicy, egressConnector, egressFetch, Fetch } from '@gatehouse/egress';
import { bodyMeter, BodyMeter, ByteCaps } from './byte-meters';
import { ByteCap, downstreamTooLarge } from './downstream.errors';

/**
 * Every HTTP request to one connection's downstream goes out here: the fetch its SDK transport is given, and
 * the keep-alive pool HttpExchange's tools/call requests use (undici's: about a fifth less CPU per request than
 * node:http's client). Both connect only where the egress policy allows (the address vetted, the socket pinned to it),
 * and bodies are counted as they arrive, against the connection's byte caps.
 */
export class DownstreamHttp {
  private readonly pool: Pool;
  private readonly vettedFetch: Fetch;

  constructor(
    url: URL,
    private readonly connection: string,
    private readonly caps: ByteCaps,
    egress: EgressPolicy,
  ) {
    // No timeouts of undici's own (300 s for headers and between body chunks): the call's clock (callTimeoutMs,
    // callDeadlineMs, up to an hour) bounds every call, and aborts it through its signal.
    this.pool = new Pool(url.origin, { connect: egressConnector(egress), headersTimeout: 0, bodyTimeout: 0 });
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

  /** A request on the connection's keep-alive pool; the caller counts the response with bodyMeter. */
  request(url: URL, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData> {
    return this.pool.request({ ...options, path: url.pathname + url.search });
  }

  close(): void {
    this.pool.destroy().catch(() => undefined);
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
