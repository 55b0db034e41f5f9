import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { ServerResponse } from 'node:http';
import { writeJson } from '../session/json-rpc-response';

// JSON-RPC's implementation-defined server error; the HTTP status (429) and `data.limit` say what it is.
const LIMIT_EXCEEDED = -32000;

/** Why a session or a call was refused by a limit of the deployment (platform.limits). */
export interface LimitRefusal {
  /** The platform.limits setting that refused it, e.g. toolCallsPerCredential. */
  limit: string;
  /** What happened and what frees the limit, for a person to read. */
  message: string;
  /** When to try again (Retry-After); null when only closing something frees the limit (sessions). */
  retryAfterSeconds: number | null;
  /** The RateLimit and RateLimit-Policy header fields, for a rate limit. */
  headers: Record<string, string>;
  /**
   * A rate limit knows whether this was the first refusal of its window, which is the one the audit log records;
   * null for a per-process cap, whose refusals are recorded within a quota of their own.
   */
  firstOfWindow: boolean | null;
}

/** 429 with a JSON-RPC error for each refused request (an array for a batch), and when to retry. */
export function writeLimitRefusal(response: ServerResponse, refusal: LimitRefusal, ids: RequestId[] | RequestId | null, sessionId?: string): void {
  const error = (id: RequestId | null) => ({
    jsonrpc: '2.0' as const,
    id,
    error: {
      code: LIMIT_EXCEEDED,
      message: refusal.message,
      data: { limit: refusal.limit, ...(refusal.retryAfterSeconds === null ? {} : { retryAfterSeconds: refusal.retryAfterSeconds }) },
    },
  });
  setHeaders(response, refusal.headers);
  if (refusal.retryAfterSeconds !== null) response.setHeader('Retry-After', String(refusal.retryAfterSeconds));
  if (sessionId) response.setHeader('Mcp-Session-Id', sessionId);
  writeJson(response, 429, Array.isArray(ids) ? ids.map(error) : error(ids));
}

export function setHeaders(response: ServerResponse, headers: Record<string, string>): void {
  for (const name in headers) response.setHeader(name, headers[name]!);
}
