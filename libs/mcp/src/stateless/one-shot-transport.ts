import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCResultResponse,
  JSONRPCErrorResponse,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResultResponse,
  MessageExtraInfo,
} from '@modelcontextprotocol/sdk/types.js';

/**
 * The transport of a Server that answers one stateless request: the request goes in, its notifications (progress,
 * log messages) go to `forward`, and `exchange` resolves with the response. The revision has no server-to-client
 * requests, so sending one fails (the handler's sendRequest rejects).
 */
export class OneShotTransport implements Transport {
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private settle: ((message: JSONRPCResultResponse | JSONRPCErrorResponse) => void) | null = null;

  constructor(private readonly forward: (notification: JSONRPCNotification) => void) {}

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      this.settle?.(message);
      this.settle = null;
    } else if (isJSONRPCNotification(message)) {
      this.forward(message);
    } else {
      throw new Error('MCP 2026-07-28 has no requests from the server to the client');
    }
  }

  async close(): Promise<void> {
    this.onclose?.();
  }

  /** The response to `request`; an abort of `signal` cancels the handler as the client's notifications/cancelled would. */
  exchange(request: JSONRPCRequest, extra: MessageExtraInfo, signal: AbortSignal): Promise<JSONRPCResultResponse | JSONRPCErrorResponse> {
    return new Promise((resolve) => {
      this.settle = resolve;
      signal.addEventListener('abort', () => this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: request.id, reason: String(signal.reason) } }), { once: true });
      this.onmessage?.(request, extra);
    });
  }
}
