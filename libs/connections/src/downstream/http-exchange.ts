import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage, JSONRPCRequest, JSONRPCResponse } from '@modelcontextprotocol/sdk/types.js';
import { createParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { BodyMeter, bodyMeter, ByteCaps, isEventStream } from './byte-meters';
import { ByteCap, downstreamTooLarge } from './downstream.errors';
import type { DownstreamHttp } from './downstream-http';

export interface HttpSession {
  sessionId: string | undefined;
  protocolVersion: string | undefined;
}

export interface HttpExchangeTarget {
  connection: string;
  url: URL;
  headers: Record<string, string>;
  caps: ByteCaps;
}

const STREAM_LINGER_MS = 5_000;
// SEP-1699: a server may end a call's event stream before answering and send the rest when the client comes back
// with GET and Last-Event-ID, after the event stream's `retry`. Bounded so a downstream that keeps closing with
// retry 0 cannot spin; the call's own deadline bounds the whole.
const RESUME_DEFAULT_DELAY_MS = 1_000;
const RESUME_MIN_DELAY_MS = 50;
const RESUME_MAX_DELAY_MS = 30_000;
const MAX_RESUMPTIONS = 1_000;

/**
 * One streamable-HTTP request/response exchange on a session the SDK's client transport established:
 * POST the request, read a JSON or SSE reply, hand every other message on the stream (progress, logging,
 * server requests) to `onmessage`. It exists for the tools/call hot path, where the SDK transport's fetch
 * and web-stream SSE parsing cost more CPU than the rest of the gateway; sessions, lists and notifications
 * stay with the SDK. Errors match the SDK transport's: StreamableHTTPError for HTTP statuses (404 = session
 * expired), plain Errors for the network; a body over the connection's byte caps (each response's, resumed streams
 * too) is cut off as it arrives and fails the call with a GatehouseError, leaving the session as it was. A stream
 * the server ends before the reply is resumed (SEP-1699) from its last event id.
 */
export class HttpExchange {
  constructor(
    private readonly http: DownstreamHttp,
    private readonly target: HttpExchangeTarget,
  ) {}

  send(
    session: HttpSession,
    message: JSONRPCRequest,
    onmessage: (message: JSONRPCMessage) => void,
    signal: AbortSignal,
  ): Promise<JSONRPCResponse> {
    return new Promise<JSONRPCResponse>((resolve, reject) => {
      const sessionHeaders = {
        ...this.target.headers,
        ...(session.sessionId ? { 'mcp-session-id': session.sessionId } : {}),
        ...(session.protocolVersion ? { 'mcp-protocol-version': session.protocolVersion } : {}),
      };
      let current: Readable | null = null;
      let resumeTimer: NodeJS.Timeout | null = null;
      let settled = false;
      const settle = (error: unknown, reply?: JSONRPCResponse) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (resumeTimer) clearTimeout(resumeTimer);
        if (!reply) {
          current?.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        resolve(reply);
        // The socket goes back to the keep-alive pool once the server ends the stream, which it does right
        // after the reply; one that lingers is cut so it cannot hold a socket forever.
        const body = current!;
        if (body.readableEnded) return;
        const linger = setTimeout(() => body.destroy(), STREAM_LINGER_MS);
        linger.unref();
        body.once('close', () => clearTimeout(linger));
      };
      // The call's abort ends whatever is in progress, also between a stream's end and its resumption.
      const onAbort = () => settle(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const overCap = (cap: ByteCap) => settle(downstreamTooLarge(this.target.connection, cap, this.target.caps[cap]));
      const receive = (text: string) => {
        if (settled) return;
        const parsed = parseMessage(text);
        if (!parsed) return settle(new Error('the downstream sent a message that is not JSON-RPC'));
        if ('id' in parsed && parsed.id === message.id && ('result' in parsed || 'error' in parsed)) {
          return settle(null, parsed as JSONRPCResponse);
        }
        onmessage(parsed);
      };

      let lastEventId: string | undefined;
      let retryMs: number | undefined;
      let resumptions = 0;
      const readEvents = (body: Readable, bodyMeter: BodyMeter) => {
        // Events without data are resumption primers (an id to reconnect from), not messages; an SDK server replays a
        // primer as `{}`.
        const parser = createParser({
          onEvent: (event) => {
            if (event.id !== undefined) lastEventId = event.id;
            if ((event.event ?? 'message') === 'message' && event.data !== '' && event.data !== '{}') receive(event.data);
          },
          onRetry: (interval) => (retryMs = interval),
        });
        const decoder = new StringDecoder('utf8');
        body.on('data', (chunk: Buffer) => {
          const over = bodyMeter.feed(chunk);
          if (over) return overCap(over);
          parser.feed(decoder.write(chunk));
        });
        body.on('end', () => {
          if (settled) return;
          if (lastEventId === undefined) return settle(new Error('the downstream ended the event stream without answering the call'));
          if (++resumptions > MAX_RESUMPTIONS) return settle(new Error(`the downstream ended the call's event stream ${MAX_RESUMPTIONS} times without answering it`));
          const delay = Math.min(Math.max(retryMs ?? RESUME_DEFAULT_DELAY_MS, RESUME_MIN_DELAY_MS), RESUME_MAX_DELAY_MS);
          resumeTimer = setTimeout(() => open('GET', lastEventId!), delay);
        });
      };

      const answered = (response: Dispatcher.ResponseData, posted: boolean) => {
        const { statusCode: status, body } = response;
        current = body;
        body.on('error', (error) => settle(error));
        if (settled) return void body.destroy();
        const type = headerValue(response.headers['content-type']);
        const meter = bodyMeter(type, this.target.caps);
        if (status < 200 || status >= 300) {
          // The status is all that is kept: an error body is the downstream's words (see describeError).
          body.resume();
          return settle(
            posted
              ? new StreamableHTTPError(status, `Error POSTing to endpoint (HTTP ${status})`)
              : new Error(`the downstream ended the call's event stream and refused to resume it (HTTP ${status})`),
          );
        }
        if (isEventStream(type)) return readEvents(body, meter);
        if (posted && type.includes('application/json')) {
          return readBody(body, meter, overCap, (text) => {
            receive(text);
            settle(new Error('the downstream answered with JSON that is not the reply to the call'));
          });
        }
        body.resume();
        settle(new Error(`the downstream answered with unexpected content type "${type}"`));
      };

      const open = (method: 'POST' | 'GET', resumeFrom?: string) => {
        resumeTimer = null;
        if (settled) return;
        const body = method === 'POST' ? JSON.stringify(message) : null;
        this.http
          .request(this.target.url, {
            method,
            signal,
            headers: body
              ? { ...sessionHeaders, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
              : { ...sessionHeaders, accept: 'text/event-stream', 'last-event-id': resumeFrom! },
            body,
          })
          .then(
            (response) => answered(response, body !== null),
            (error: unknown) => settle(signal.aborted ? signal.reason : error),
          );
      };
      open('POST');
    });
  }
}

const headerValue = (value: string | string[] | undefined): string => (Array.isArray(value) ? value.join(', ') : (value ?? ''));

// Chunks are kept as they come and decoded once; the meter cuts the body off before it passes its cap.
function readBody(body: Readable, meter: BodyMeter, overCap: (cap: ByteCap) => void, done: (text: string) => void): void {
  const chunks: Buffer[] = [];
  let failed = false;
  body.on('data', (chunk: Buffer) => {
    if (failed) return;
    const over = meter.feed(chunk);
    if (!over) return void chunks.push(chunk);
    failed = true;
    chunks.length = 0;
    overCap(over);
  });
  body.on('end', () => failed || done(Buffer.concat(chunks).toString('utf8')));
}

function parseMessage(text: string): JSONRPCMessage | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { jsonrpc?: unknown }).jsonrpc === '2.0'
      ? (value as JSONRPCMessage)
      : null;
  } catch {
    return null;
  }
}
