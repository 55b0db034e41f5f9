import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AppConfig } from '@gatehouse/config';
import { writeJsonRpcError } from './session/json-rpc-response';

// DNS-rebinding protection (MCP transport spec): a browser page from another origin must not reach /mcp.
// Requests without an Origin header (server-side clients) are unaffected.
export function originRefusal(origin: string | undefined, allowed: ReadonlySet<string>): string | null {
  return origin && !allowed.has(origin) ? `Forbidden: origin ${origin} is not allowed` : null;
}

@Injectable()
export class OriginMiddleware implements NestMiddleware {
  private readonly allowed: ReadonlySet<string>;

  constructor(config: AppConfig) {
    this.allowed = config.allowedOrigins;
  }

  use(request: Request, response: Response, next: NextFunction): void {
    const refusal = originRefusal(request.headers.origin, this.allowed);
    if (refusal) return writeJsonRpcError(response, 403, -32000, refusal);
    next();
  }
}
