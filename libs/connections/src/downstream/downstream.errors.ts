import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode as RpcErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
// The SDK parses with zod's mini build, whose errors are $ZodError but not the classic ZodError.
import { $ZodError } from 'zod/v4/core';
import { ErrorCode, GatehouseError } from '@gatehouse/config';

/** The byte caps of a connection, by the name an admin sets them with. */
export type ByteCap = 'maxReplyBytes' | 'maxSseEventBytes';

const CAPPED: Record<ByteCap, string> = { maxReplyBytes: 'a reply', maxSseEventBytes: 'a server-sent event' };

export function downstreamUnavailable(connection: string, reason: string): GatehouseError {
  return new GatehouseError(ErrorCode.DownstreamUnavailable, `Connection "${connection}" is unavailable: ${reason}`);
}

export function downstreamTimeout(connection: string, ms: number): GatehouseError {
  return new GatehouseError(ErrorCode.DownstreamTimeout, `Connection "${connection}" did not answer within ${ms} ms`);
}

export function downstreamDeadline(connection: string, ms: number): GatehouseError {
  return new GatehouseError(
    ErrorCode.DownstreamTimeout,
    `Connection "${connection}" did not finish the call within its ${ms} ms deadline (callDeadlineMs); the call was stopped`,
  );
}

export function downstreamTooLarge(connection: string, cap: ByteCap, limit: number): GatehouseError {
  return new GatehouseError(ErrorCode.DownstreamTooLarge, `Connection "${connection}" ${overCap(cap, limit)}; the call was stopped`);
}

/** "sent a reply larger than 16 MiB (maxReplyBytes)" */
export function overCap(cap: ByteCap, limit: number): string {
  return `sent ${CAPPED[cap]} larger than ${formatBytes(limit)} (${cap})`;
}

// Errors the SDK makes itself (no downstream words in them).
const OWN_RPC_ERRORS: ReadonlySet<number> = new Set([RpcErrorCode.RequestTimeout, RpcErrorCode.ConnectionClosed]);

/**
 * What went wrong with a downstream, for health, connection tests and call errors: in our words, never the
 * downstream's own bytes (an HTTP error body, a reply that does not parse). Those would read whatever an address
 * answers back to the admin who configured the connection, or to the assistant calling it.
 */
export function describeError(error: unknown): string {
  if (error instanceof StreamableHTTPError) return (error.code ?? 0) > 0 ? `the downstream answered HTTP ${error.code}` : 'the downstream connection failed';
  if (error instanceof SseError) return `the event stream failed${error.code ? ` (HTTP ${error.code})` : ''}`;
  if (error instanceof McpError && !OWN_RPC_ERRORS.has(error.code)) return `the downstream answered with JSON-RPC error ${error.code}`;
  if (error instanceof SyntaxError) return 'the downstream sent something that is not valid JSON';
  if (error instanceof $ZodError) return 'the downstream sent a message that is not valid MCP';
  if (error instanceof Error) return error.message.split('\n')[0]!.slice(0, 500);
  return String(error).slice(0, 500);
}

/** A reply that does not parse as JSON or is not the MCP message it should be: the downstream's fault, not ours. */
export function isMalformedReply(error: unknown): boolean {
  return error instanceof SyntaxError || error instanceof $ZodError;
}

/** 16777216 → "16 MiB"; sizes that are not a whole number of KiB or MiB stay in bytes. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
