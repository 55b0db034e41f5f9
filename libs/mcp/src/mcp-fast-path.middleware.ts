import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { EndpointService } from '@gatehouse/governance';
import { AuthenticatedRequest, BearerAuthenticator, bearerToken, mcpDoorOf, requestOrigin } from '@gatehouse/identity';
import { McpSessions } from './session/mcp-sessions.service';
import { exchangeMessage } from './session/tool-call-exchange';

/**
 * tools/call on an established session, answered by ToolCallExchange before Nest's route pipeline (guards,
 * interceptors, pipes), per-request work the hot message does not need. It authenticates exactly as
 * AuthGuard does; anything else (no or a failing credential, an unknown or another principal's session,
 * another method or message) goes on to the controller untouched, whose guard answers and audits a failed
 * credential and whose McpSessions.handle owns every other answer.
 */
@Injectable()
export class McpFastPath implements NestMiddleware {
  constructor(
    private readonly authenticator: BearerAuthenticator,
    private readonly sessions: McpSessions,
    private readonly endpoints: EndpointService,
  ) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const token = bearerToken(request);
    // Only messages the exchange answers: anything else would be authenticated here and again by the guard.
    if (request.method !== 'POST' || !token || typeof request.headers['mcp-session-id'] !== 'string' || !exchangeMessage(request.body)) return next();
    // McpDoorMiddleware ran first: the path is /mcp or /mcp/<endpoint name>.
    const endpoint = mcpDoorOf(request) ?? null;
    this.authenticator
      .authenticate(token, { kind: 'mcp', endpoint })
      .then(async (principal) => ({ principal, door: await this.endpoints.door(principal, endpoint) }))
      .then(
        ({ principal, door }) => {
          // A copy, as the guard makes: the cached principal is shared by requests from elsewhere.
          const authenticated = Object.assign(request, { principal: { ...principal, origin: requestOrigin(request) } }) as AuthenticatedRequest;
          try {
            if (!this.sessions.handleExchange(authenticated, response, authenticated.principal, door)) next();
          } catch (error) {
            next(error);
          }
        },
        () => next(),
      );
  }
}
