import type { ServerResponse } from 'node:http';

export function jsonRpcError(code: number, message: string, data?: unknown) {
  return { jsonrpc: '2.0' as const, error: { code, message, ...(data === undefined ? {} : { data }) }, id: null };
}

export function writeJsonRpcError(response: ServerResponse, status: number, code: number, message: string): void {
  writeJson(response, status, jsonRpcError(code, message));
}

/**
 * A JSON answer as Express's res.json writes it, with Node's own response API: the MCP front door's requests never
 * become Express requests (changing an object's prototype per request makes every property access on it slow).
 */
export function writeJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.statusCode = status;
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.setHeader('content-length', Buffer.byteLength(text));
  response.end(text);
}
