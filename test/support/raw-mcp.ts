import { Agent, request as httpRequest } from 'node:http';
import { ClientCapabilities, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

// /mcp over plain HTTP, for what the SDK client hides: status codes, headers, many requests at once.

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw-http', version: '1.0.0' } },
};

export interface JsonRpcError {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string; data?: Record<string, unknown> };
}

export function toolCall(id: string | number, name: string, args: Record<string, unknown>) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

// Keep-alive connections, at most this many per gateway: a thousand requests at once would otherwise be a thousand
// connects at once, past the server's listen backlog, and the kernel's retransmission delays would be what is measured.
const agent = new Agent({ keepAlive: true, maxSockets: 100 });

/** One HTTP request to /mcp, its reply read whole (fetch's Response, over the pooled connections above). */
function send(method: string, mcpUrl: string, token: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  const data = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      mcpUrl,
      {
        method,
        agent,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Content-Length': Buffer.byteLength(data), ...headers },
        ...(signal ? { signal } : {}),
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const status = incoming.statusCode ?? 0;
          const replyHeaders = Object.entries(incoming.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')] as [string, string]);
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: replyHeaders }));
        });
      },
    );
    request.on('error', reject);
    request.end(data);
  });
}

export function postMcp(mcpUrl: string, token: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return send('POST', mcpUrl, token, body, headers, signal);
}

/** An initialized session, driven request by request. */
export class RawSession {
  private constructor(
    private readonly mcpUrl: string,
    private readonly token: string,
    readonly id: string,
  ) {}

  /** initialize + notifications/initialized; fails the test with what the gateway answered if it refuses. */
  static async open(mcpUrl: string, token: string): Promise<RawSession> {
    const response = await postMcp(mcpUrl, token, INITIALIZE);
    const id = response.headers.get('mcp-session-id');
    const text = await response.text();
    if (response.status !== 200 || !id) throw new Error(`initialize answered ${response.status}: ${text}`);
    const session = new RawSession(mcpUrl, token, id);
    const initialized = await session.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await initialized.body?.cancel();
    if (initialized.status !== 202) throw new Error(`notifications/initialized answered ${initialized.status}`);
    return session;
  }

  post(body: unknown, signal?: AbortSignal): Promise<Response> {
    return postMcp(this.mcpUrl, this.token, body, { 'Mcp-Session-Id': this.id, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION }, signal);
  }

  call(id: string | number, name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
    return this.post(toolCall(id, name, args), signal);
  }

  /** DELETE: ends the session; the gateway's status. */
  async close(): Promise<number> {
    const response = await send('DELETE', this.mcpUrl, this.token, undefined, { 'Mcp-Session-Id': this.id, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION });
    return response.status;
  }
}

/** A raw SSE reply read as it arrives: the JSON-RPC messages in order. */
export class SseReply {
  private readonly messages: Record<string, unknown>[] = [];
  private readonly ids: (string | null)[] = [];
  private readonly waiters: (() => void)[] = [];
  private ended = false;
  readonly status: number;

  constructor(response: Response) {
    this.status = response.status;
    void this.read(response);
  }

  /** The next message matching `match`, in arrival order. */
  async next(match: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    for (let seen = 0; ; ) {
      const found = this.messages.slice(seen).find(match);
      if (found) return found;
      seen = this.messages.length;
      if (this.ended) throw new Error('the stream ended without the message');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The n-th message (from 0) with its SSE event id (null when it had none), once it arrived. */
  async event(n: number): Promise<{ id: string | null; message: Record<string, unknown> }> {
    while (this.messages.length <= n) {
      if (this.ended) throw new Error('the stream ended without the message');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return { id: this.ids[n]!, message: this.messages[n]! };
  }

  private async read(response: Response): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const lines = buffer.slice(0, end).split('\n');
          const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
          buffer = buffer.slice(end + 2);
          if (!data) continue;
          this.messages.push(JSON.parse(data) as Record<string, unknown>);
          this.ids.push(lines.find((line) => line.startsWith('id: '))?.slice(4) ?? null);
        }
        this.waiters.splice(0).forEach((wake) => wake());
      }
    } catch {
      // The reader was aborted (the test closed the stream): it ended.
    } finally {
      this.ended = true;
      this.waiters.splice(0).forEach((wake) => wake());
    }
  }
}

/** A session opened with raw HTTP, declaring `capabilities`, for what the SDK client hides (ids, other sessions' answers). */
export class RawAskingSession {
  constructor(
    private readonly mcpUrl: string,
    private readonly token: string,
    readonly id: string,
  ) {}

  static async open(mcpUrl: string, token: string, capabilities: ClientCapabilities): Promise<RawAskingSession> {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities, clientInfo: { name: 'raw-asking', version: '1.0.0' } } };
    const response = await postMcp(mcpUrl, token, initialize);
    const id = response.headers.get('mcp-session-id');
    await response.text();
    if (response.status !== 200 || !id) throw new Error(`initialize answered ${response.status}`);
    const session = new RawAskingSession(mcpUrl, token, id);
    const initialized = await session.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await initialized.body?.cancel();
    if (initialized.status !== 202) throw new Error(`notifications/initialized answered ${initialized.status}`);
    return session;
  }

  /** The same session, its requests sent to another replica. */
  at(mcpUrl: string): RawAskingSession {
    return new RawAskingSession(mcpUrl, this.token, this.id);
  }

  post(body: unknown, token = this.token): Promise<Response> {
    return postMcp(this.mcpUrl, token, body, { 'Mcp-Session-Id': this.id, 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION });
  }

  /** A POST whose reply is read as a stream (fetch: postMcp reads replies whole). */
  async stream(body: unknown): Promise<SseReply> {
    const response = await fetch(this.mcpUrl, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${this.token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': this.id,
        'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION,
      },
      body: JSON.stringify(body),
    });
    return new SseReply(response);
  }
}
