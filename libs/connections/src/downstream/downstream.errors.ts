import { ErrorCode, GatehouseError } from '@gatehouse/config';

export function downstreamUnavailable(connection: string, reason: string): GatehouseError {
  return new GatehouseError(ErrorCode.DownstreamUnavailable, `Connection "${connection}" is unavailable: ${reason}`);
}

export function downstreamTimeout(connection: string, ms: number): GatehouseError {
  return new GatehouseError(ErrorCode.DownstreamTimeout, `Connection "${connection}" did not answer within ${ms} ms`);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0]!.slice(0, 500);
  return String(error).slice(0, 500);
}
