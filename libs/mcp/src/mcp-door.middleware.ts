import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { mcpDoorOf } from '@gatehouse/identity';
import { writeJsonRpcError } from './session/json-rpc-response';

// /mcp/<segment> where the segment cannot be an endpoint name ("..", an encoded "/", uppercase, overlong) is no
// door at all: 404 before any credential is looked at, so no later step reads a name it was not meant to.
@Injectable()
export class McpDoorMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    if (mcpDoorOf(request) === undefined) {
      return writeJsonRpcError(response, 404, -32001, 'No MCP endpoint here: /mcp, or /mcp/<endpoint> with a name of lower-case letters, digits and "-"');
    }
    next();
  }
}
