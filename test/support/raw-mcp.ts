import { Agent, request as httpRequest } from 'node:http';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

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
