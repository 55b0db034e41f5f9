import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentPrincipal, McpAuthenticated, Principal } from '@gatehouse/identity';
import { McpSessions } from './session/mcp-sessions.service';

// MCP streamable HTTP (2025-11-25): POST messages, GET the notification stream, DELETE to end a session.
@ApiExcludeController()
@Controller('mcp')
export class McpController {
  constructor(private readonly sessions: McpSessions) {}

  @All()
  @McpAuthenticated()
  handle(@Req() request: Request, @Res() response: Response, @CurrentPrincipal() principal: Principal): Promise<void> {
    return this.sessions.handle(request, response, principal);
  }
}
