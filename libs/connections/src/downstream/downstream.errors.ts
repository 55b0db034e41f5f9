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

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0]!.slice(0, 500);
  return String(error).slice(0, 500);
}

/** 16777216 → "16 MiB"; sizes that are not a whole number of KiB or MiB stay in bytes. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
