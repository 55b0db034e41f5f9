import { randomBytes } from 'node:crypto';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ErrorCode as RpcErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ClusterBus } from '@gatehouse/db';

const CHANNEL = 'mcp.relay-answers';

interface ForwardedAnswer {
  sessionId: string;
  message: unknown;
}

/** The prefix of the ids Gatehouse gives the requests it sends clients on ToolCallExchange's streams. */
const ID_PREFIX = 'gatehouse-relay-';

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** A POSTed message that may be a client's answer to one of our requests: a JSON-RPC response with one of our ids. */
export function isRelayAnswer(body: unknown): body is { id: string; result?: unknown; error?: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const message = body as Record<string, unknown>;
  return message['jsonrpc'] === '2.0' && !('method' in message) && typeof message['id'] === 'string' && message['id'].startsWith(ID_PREFIX) && ('result' in message || 'error' in message);
}

/**
 * Requests Gatehouse sent to upstream clients on a tools/call's SSE stream (ToolCallExchange), waiting for the client
 * to POST its answer on the session. An answer resolves a request only on the session it was sent to: the key is
 * the session id and the request id, and the id carries 128 random bits, so another session cannot guess one.
 * A request waits in the process running its call; an answer that reached another replica (which checked that it
 * came on the session, from its principal) is forwarded over the cluster bus with its session id, and settles the
 * request only where that session sent it.
 */
@Injectable()
export class PendingClientRequests implements OnModuleInit {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly bus: ClusterBus) {}

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (payload, fromSelf) => {
      const { sessionId, message } = payload as ForwardedAnswer;
      if (!fromSelf && typeof sessionId === 'string' && isRelayAnswer(message)) this.answer(sessionId, message);
    });
  }

  /** An answer POSTed on `sessionId` at this replica that no request here waits for: to the replica whose does. */
  async forward(sessionId: string, message: { id: string; result?: unknown; error?: unknown }): Promise<void> {
    await this.bus.publish(CHANNEL, { sessionId, message } satisfies ForwardedAnswer);
  }

  /** Requests waiting for an answer, in this process. */
  get size(): number {
    return this.pending.size;
  }

  /** A fresh id and the answer to the request sent with it; the signal withdraws it (and rejects the answer). */
  issue(sessionId: string, signal: AbortSignal): { id: string; answer: Promise<unknown> } {
    const id = `${ID_PREFIX}${randomBytes(16).toString('base64url')}`;
    const key = keyOf(sessionId, id);
    const answer = new Promise<unknown>((resolve, reject) => {
      const withdraw = () => {
        this.pending.delete(key);
        reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      };
      if (signal.aborted) return withdraw();
      signal.addEventListener('abort', withdraw, { once: true });
      const settle = () => {
        this.pending.delete(key);
        signal.removeEventListener('abort', withdraw);
      };
      this.pending.set(key, {
        resolve: (result) => (settle(), resolve(result)),
        reject: (error) => (settle(), reject(error)),
      });
    });
    return { id, answer };
  }

  /** A client's answer POSTed on `sessionId`: true when it answered a request waiting there (then settled). */
  answer(sessionId: string, message: { id: string; result?: unknown; error?: unknown }): boolean {
    const pending = this.pending.get(keyOf(sessionId, message.id));
    if (!pending) return false;
    if ('result' in message) pending.resolve(message.result);
    else pending.reject(clientError(message.error));
    return true;
  }
}

function keyOf(sessionId: string, id: string): string {
  return `${sessionId}\n${id}`;
}

// The client's error, as the SDK surfaces one (McpError), its message bounded: it goes back to the downstream.
function clientError(error: unknown): McpError {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  return new McpError(typeof code === 'number' && Number.isInteger(code) ? code : RpcErrorCode.InternalError, typeof message === 'string' ? message.slice(0, 500) : 'the client answered with an error');
}
