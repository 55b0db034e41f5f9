import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { EndpointService } from '@gatehouse/governance';
import { CurrentPrincipal, McpAuthenticated, mcpDoorOf, Principal } from '@gatehouse/identity';
import { McpSessions } from './session/mcp-sessions.service';
import { isStatelessRequest } from './stateless/stateless-envelope';
import { StatelessMcp } from './stateless/stateless-mcp.service';

// MCP streamable HTTP (2025-11-25): POST messages, GET the notification stream, DELETE to end a session; at /mcp
// (every tool of the organization) and at each endpoint, /mcp/<endpoint> (its selection). Requests of the stateless
// revision (2026-07-28) are answered beside them, at the same doors, by StatelessMcp.
@ApiExcludeController()
@Controller('mcp')
export class McpController {
  constructor(
    private readonly sessions: McpSessions,
    private readonly stateless: StatelessMcp,
    private readonly endpoints: EndpointService,
  ) {}

  @All(['', ':endpoint'])
  @McpAuthenticated()
  async handle(@Req() request: Request, @Res() response: Response, @CurrentPrincipal() principal: Principal): Promise<void> {
    // McpDoorMiddleware refused any other path; an endpoint the principal's organization lacks is 404 here.
    const door = await this.endpoints.door(principal, mcpDoorOf(request) ?? null);
    if (isStatelessRequest(request)) return this.stateless.handle(request, response, principal, door);
    return this.sessions.handle(request, response, principal, door);
  }
}
