import http from 'node:http';
import https from 'node:https';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage, JSONRPCRequest, JSONRPCResponse } from '@modelcontextprotocol/sdk/types.js';
import { createParser } from 'eventsource-parser';

export interface HttpSession {
  sessionId: string | undefined;
  protocolVersion: string | undefined;
}


const ERROR_BODY_LIMIT = 500;
const STREAM_LINGER_MS = 5_000;

/**
 * One streamable-HTTP request/response exchange on a session the SDK's client transport established:
 * POST the request, read a JSON or SSE reply, hand every other message on the stream (progress, logging,
 * server requests) to `onmessage`. It exists for the tools/call hot path, where the SDK transport's fetch
 * and web-stream SSE parsing cost more CPU than the rest of the gateway; sessions, lists and notifications
 * stay with the SDK. Errors match the SDK transport's: StreamableHTTPError for HTTP statuses (404 = session
 * expired), plain Errors for the network.
 */
export class HttpExchange {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;

  constructor(
    private readonly url: URL,
    private readonly headers: Record<string, string>,
  ) {
    const secure = url.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.request = secure ? https.request : http.request;
  }

  send(
    session: HttpSession,
    message: JSONRPCRequest,
    onmessage: (message: JSONRPCMessage) => void,
    signal: AbortSignal,
  ): Promise<JSONRPCResponse> {
    return new Promise<JSONRPCResponse>((resolve, reject) => {
      const body = JSON.stringify(message);
      const request = this.request(this.url, {
        method: 'POST',
        agent: this.agent,
        signal,
        headers: {
          ...this.headers,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'content-length': Buffer.byteLength(body),
          ...(session.sessionId ? { 'mcp-session-id': session.sessionId } : {}),
          ...(session.protocolVersion ? { 'mcp-protocol-version': session.protocolVersion } : {}),
        },
      });
      let settled = false;
      const settle = (error: unknown, reply?: JSONRPCResponse) => {
        if (settled) return;
        settled = true;
        if (!reply) {
          request.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        resolve(reply);
        // The socket goes back to the keep-alive pool once the server ends the stream, which it does right
        // after the reply; one that lingers is cut so it cannot hold a socket forever.
        const linger = setTimeout(() => request.destroy(), STREAM_LINGER_MS);
        linger.unref();
        request.once('close', () => clearTimeout(linger));
      };
      const receive = (text: string) => {
        const parsed = parseMessage(text);
        if (!parsed) return settle(new Error(`the downstream sent a message that is not JSON-RPC: ${text.slice(0, 200)}`));
        if ('id' in parsed && parsed.id === message.id && ('result' in parsed || 'error' in parsed)) {
          return settle(null, parsed as JSONRPCResponse);
        }
        onmessage(parsed);
      };
      request.on('error', (error) => settle(signal.aborted ? signal.reason : error));
      request.on('response', (response) => {
        response.on('error', (error) => settle(error));
        const status = response.statusCode ?? 0;
        const type = response.headers['content-type'] ?? '';
        if (status < 200 || status >= 300) {
          return readText(response, (text) => settle(new StreamableHTTPError(status, `Error POSTing to endpoint: ${text.slice(0, ERROR_BODY_LIMIT)}`)));
        }
        if (type.includes('text/event-stream')) {
          // Events without data are resumption primers (an id to reconnect from), not messages.
          const parser = createParser({
            onEvent: (event) => (event.event ?? 'message') === 'message' && event.data !== '' && receive(event.data),
          });
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => parser.feed(chunk));
          response.on('end', () => settle(new Error('the downstream ended the event stream without answering the call')));
          return;
        }
        if (type.includes('application/json')) {
          return readText(response, (text) => {
            receive(text);
            settle(new Error('the downstream answered with JSON that is not the reply to the call'));
          });
        }
        response.resume();
        settle(new Error(`the downstream answered with unexpected content type "${type}"`));
      });
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function readText(response: http.IncomingMessage, done: (text: string) => void): void {
  let text = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => (text += chunk));
  response.on('end', () => done(text));
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
