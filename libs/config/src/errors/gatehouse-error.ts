// Typed domain errors: services throw these, and one mapper per transport (HTTP problem JSON, MCP tool
// results / JSON-RPC errors) turns them into responses with an exhaustive switch over the code.
export enum ErrorCode {
  InvalidInput = 'invalid_input',
  NotFound = 'not_found',
  Conflict = 'conflict',
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  DownstreamUnavailable = 'downstream_unavailable',
  DownstreamTimeout = 'downstream_timeout',
  DownstreamError = 'downstream_error',
  // The downstream sent more than a connection's byte cap allows (maxReplyBytes, maxSseEventBytes).
  DownstreamTooLarge = 'downstream_too_large',
  ShuttingDown = 'shutting_down',
  // A per-credential or per-organization limit (platform.limits); details.retryAfterSeconds says when to retry.
  RateLimited = 'rate_limited',
}

export class GatehouseError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatehouseError';
  }

  static invalid(message: string, details?: Record<string, unknown>): GatehouseError {
    return new GatehouseError(ErrorCode.InvalidInput, message, details);
  }

  static notFound(message: string): GatehouseError {
    return new GatehouseError(ErrorCode.NotFound, message);
  }

  static conflict(message: string): GatehouseError {
    return new GatehouseError(ErrorCode.Conflict, message);
  }

  static forbidden(message: string): GatehouseError {
    return new GatehouseError(ErrorCode.Forbidden, message);
  }

  static unauthenticated(message: string): GatehouseError {
    return new GatehouseError(ErrorCode.Unauthenticated, message);
  }

  static rateLimited(message: string, retryAfterSeconds: number): GatehouseError {
    return new GatehouseError(ErrorCode.RateLimited, message, { retryAfterSeconds });
  }
}
