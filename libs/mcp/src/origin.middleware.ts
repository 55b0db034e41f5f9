import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AppConfig } from '@gatehouse/config';
import { writeJsonRpcError } from './session/json-rpc-response';

// DNS-rebinding protection (MCP transport spec): a browser page from another origin must not reach /mcp.
// Requests without an Origin header (server-side clients) are unaffected.
@Injectable()
export class OriginMiddleware implements NestMiddleware {
  private readonly allowed: ReadonlySet<string>;

  constructor(config: AppConfig) {
    this.allowed = config.allowedOrigins;
  }

  use(request: Request, response: Response, next: NextFunction): void {
    const origin = request.headers.origin;
    if (origin && !this.allowed.has(origin)) {
      return writeJsonRpcError(response, 403, -32000, `Forbidden: origin ${origin} is not allowed`);
    }
    next();
  }
}
