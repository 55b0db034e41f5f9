import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { GatehouseError } from '@gatehouse/config';
import { BearerChallenge, CHALLENGE_SCOPES, mcpDoorOf, OAuthError, OAuthSettings } from '@gatehouse/identity';
import { jsonRpcError } from '@gatehouse/mcp';
import { renderErrorPage, sendPage } from '../oauth/pages';
import { Problem, problemOf } from './problem';

/** The form a door's clients parse errors in. */
type ErrorForm = 'json-rpc' | 'oauth' | 'page' | 'problem';

const OAUTH_ENDPOINTS = new Set(['/oauth/token', '/oauth/register', '/oauth/revoke']);

// By path alone, so that errors raised before any route (body parsers, refused text, unknown routes) take the
// same form as the route's own. Express routes case-insensitively and ignores a trailing slash; so does this.
function errorRouteOf(path: string): string {
  return path.toLowerCase().replace(/\/+$/, '');
}

function errorFormOf(path: string): ErrorForm {
  const route = errorRouteOf(path);
  if (route === '/mcp' || route.startsWith('/mcp/')) return 'json-rpc';
  if (OAUTH_ENDPOINTS.has(route)) return 'oauth';
  if (route.startsWith('/oauth/')) return 'page';
  return 'problem';
}

// The one place errors become HTTP responses, in the form of the door they came through: JSON-RPC errors for
// /mcp (what MCP clients parse), RFC 6749 §5.2 errors for the OAuth token, registration and revocation endpoints,
// an HTML page for the sign-in pages a person sees, RFC 9457 problem JSON for everything else.
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemFilter.name);

  constructor(private readonly oauth: OAuthSettings) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<Request>();
    const response = context.getResponse<Response>();
    if (response.headersSent) {
      this.logger.error({ err: exception }, 'Error after the response started');
      return;
    }
    const problem = problemOf(exception);
    const form = errorFormOf(request.path);
    const retryAfter = exception instanceof GatehouseError ? exception.details?.['retryAfterSeconds'] : undefined;
    if (typeof retryAfter === 'number') response.setHeader('Retry-After', String(retryAfter));
    switch (form) {
      case 'json-rpc':
      case 'problem':
        if (problem.status === HttpStatus.UNAUTHORIZED) response.setHeader('WWW-Authenticate', this.challenge(exception, problem, form === 'json-rpc' ? request : null));
        if (form === 'problem') {
          response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
          return;
        }
        response.status(problem.status).json(jsonRpcError(problem.status === 400 && /JSON/i.test(problem.detail) ? -32700 : -32000, problem.detail));
        return;
      case 'oauth':
        return this.sendOAuthError(request, response, problem, exception);
      case 'page':
        return sendPage(response, problem.status, renderErrorPage(problem.title, problem.detail));
    }
  }

  // RFC 6749 §5.2: never cached; invalid_client after HTTP Basic carries a Basic challenge (§5.2, 401).
  private sendOAuthError(request: Request, response: Response, problem: Problem, exception: unknown): void {
    // Registration's own word for a request it cannot take is invalid_client_metadata (RFC 7591 §3.2.2).
    const invalid = errorRouteOf(request.path) === '/oauth/register' ? 'invalid_client_metadata' : 'invalid_request';
    const error =
      exception instanceof OAuthError
        ? exception
        : new OAuthError(problem.status >= 500 ? 'server_error' : problem.status === 401 ? 'invalid_client' : invalid, problem.detail);
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Pragma', 'no-cache');
    if (error.code === 'invalid_client' && /^Basic /i.test(request.headers.authorization ?? '')) {
      response.setHeader('WWW-Authenticate', 'Basic realm="gatehouse"');
    }
    response.status(problem.status).json(error.toJSON());
  }

  // RFC 6750 §3 and, for /mcp and each endpoint, RFC 9728 §5.1: where an OAuth client discovers how to get a
  // token for the resource it asked for.
  private challenge(exception: unknown, problem: Problem, mcp: Request | null): string {
    const challenge = exception instanceof GatehouseError ? (exception.details?.['challenge'] as BearerChallenge | undefined) : undefined;
    const parts = mcp
      ? [`resource_metadata="${this.oauth.protectedResourceMetadataUrlFor(mcpDoorOf(mcp) ?? null)}"`, `scope="${CHALLENGE_SCOPES.join(' ')}"`]
      : ['realm="gatehouse"'];
    const error = challenge ? challenge.error : 'invalid_token';
    if (error) parts.push(`error="${error}"`, `error_description="${problem.detail.replace(/["\\]/g, "'")}"`);
    return `Bearer ${parts.join(', ')}`;
  }
}
