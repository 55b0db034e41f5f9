import type { Response } from 'express';

export function jsonRpcError(code: number, message: string, data?: unknown) {
  return { jsonrpc: '2.0' as const, error: { code, message, ...(data === undefined ? {} : { data }) }, id: null };
}

export function writeJsonRpcError(response: Response, status: number, code: number, message: string): void {
  response.status(status).json(jsonRpcError(code, message));
}
