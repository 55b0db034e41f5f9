import { ErrorCode as RpcErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { ProtocolError } from '../tools/protocol-error';

// Every */list of the gateway pages its (in-memory) list by offset; the cursor is opaque to clients.

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeCursor(cursor: string, method: string): number {
  try {
    const offset = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown }).o;
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // falls through to the error below
  }
  throw new ProtocolError(RpcErrorCode.InvalidParams, `Invalid cursor: pass back the nextCursor of a previous ${method}`);
}

/** One page of `all` from `cursor`, with the cursor of the next page when there is one. */
export function pageOf<T>(all: readonly T[], cursor: string | undefined, pageSize: number, method: string): { items: T[]; nextCursor?: string } {
  const offset = cursor === undefined ? 0 : decodeCursor(cursor, method);
  const end = offset + pageSize;
  return { items: all.slice(offset, end), ...(end < all.length ? { nextCursor: encodeCursor(end) } : {}) };
}
