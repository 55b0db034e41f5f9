import {
  ClientCapabilities,
  ClientCapabilitiesSchema,
  LoggingLevel,
  LoggingLevelSchema,
  LoggingMessageNotification,
  ServerNotification,
  ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { PendingClientRequests } from './pending-client-requests';

/** What Gatehouse keeps of the client of an upstream session: what it declared and the log level it set. */
export interface SessionClient {
  /** From its initialize: what it can be asked (elicitation, sampling). */
  capabilities: ClientCapabilities;
  /** Set by logging/setLevel; null until then (every level is sent). */
  logLevel: LoggingLevel | null;
}

/** The capabilities of an initialize request's params, or none when they are not valid. */
export function sessionClient(initializeParams: unknown): SessionClient {
  const capabilities = ClientCapabilitiesSchema.safeParse((initializeParams as { capabilities?: unknown } | undefined)?.capabilities);
  return { capabilities: capabilities.success ? capabilities.data : {}, logLevel: null };
}

/** True when a message of `level` reaches a client that set `threshold`. */
export function logLevelReaches(level: LoggingLevel, threshold: LoggingLevel | null): boolean {
  const order = LoggingLevelSchema.options;
  return threshold === null || order.indexOf(level) >= order.indexOf(threshold);
}

/**
 * The client of the session that made a call, reached on the call's own response stream, whichever path carries
 * the call (ToolCallExchange, or the SDK Server's handler).
 */
export interface ClientChannel {
  readonly client: SessionClient;
  /** Sends a request to the client; resolves with its raw result (checked by the caller), rejects with its error or when the signal aborts. */
  request(request: ServerRequest, signal: AbortSignal): Promise<unknown>;
  /** Sends a notification to the client on the call's stream. */
  notify(notification: LoggingMessageNotification): Promise<void>;
}

/**
 * The channel of a call, whichever path answers it (ToolCallExchange, or a request's SDK Server): requests and
 * notifications are written to the call's SSE stream (`send`), and the client POSTs its answer on the session, on any
 * replica, where PendingClientRequests takes it.
 */
export function streamClientChannel(client: SessionClient, sessionId: string, pending: PendingClientRequests, send: (message: object) => void): ClientChannel {
  return {
    client,
    request: async (request, signal) => {
      signal.throwIfAborted();
      const { id, answer } = pending.issue(sessionId, signal);
      // Withdrawn (the downstream cancelled, the call ended): the client stops asking its person.
      const withdraw = () => send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: reasonText(signal.reason) } });
      signal.addEventListener('abort', withdraw, { once: true });
      try {
        send({ jsonrpc: '2.0', id, ...request });
        return await answer;
      } finally {
        signal.removeEventListener('abort', withdraw);
      }
    },
    notify: (notification) => Promise.resolve(send({ jsonrpc: '2.0', ...notification })),
  };
}

function reasonText(reason: unknown): string {
  return (reason instanceof Error ? reason.message : String(reason)).slice(0, 200);
}
