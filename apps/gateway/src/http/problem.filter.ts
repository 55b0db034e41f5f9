import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ZodValidationException } from 'nestjs-zod';
import { ZodError } from 'zod';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { BearerChallenge, CHALLENGE_SCOPES, OAuthSettings } from '@gatehouse/identity';
import { jsonRpcError } from '@gatehouse/mcp';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
  errorId?: string;
}

export function statusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.InvalidInput:
      return HttpStatus.BAD_REQUEST;
    case ErrorCode.NotFound:
      return HttpStatus.NOT_FOUND;
    case ErrorCode.Conflict:
      return HttpStatus.CONFLICT;
    case ErrorCode.Unauthenticated:
      return HttpStatus.UNAUTHORIZED;
    case ErrorCode.Forbidden:
      return HttpStatus.FORBIDDEN;
    case ErrorCode.DownstreamUnavailable:
      return HttpStatus.BAD_GATEWAY;
    case ErrorCode.DownstreamTimeout:
      return HttpStatus.GATEWAY_TIMEOUT;
    case ErrorCode.DownstreamError:
    case ErrorCode.DownstreamTooLarge:
      return HttpStatus.BAD_GATEWAY;
    case ErrorCode.ShuttingDown:
      return HttpStatus.SERVICE_UNAVAILABLE;
    case ErrorCode.RateLimited:
      return HttpStatus.TOO_MANY_REQUESTS;
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

// The one place errors become HTTP responses: RFC 9457 problem JSON for the API, JSON-RPC error bodies
// for /mcp (what MCP clients parse). Unexpected errors get an id that is also in the log, with the cause.
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
    const problem = this.toProblem(exception);
    const mcp = request.path === '/mcp' || request.path.startsWith('/mcp/');
    if (problem.status === HttpStatus.UNAUTHORIZED) response.setHeader('WWW-Authenticate', this.challenge(exception, problem, mcp));
    const retryAfter = exception instanceof GatehouseError ? exception.details?.['retryAfterSeconds'] : undefined;
    if (typeof retryAfter === 'number') response.setHeader('Retry-After', String(retryAfter));
    if (mcp) {
      const code = problem.status === 400 && /JSON/i.test(problem.detail) ? -32700 : -32000;
      response.status(problem.status).json(jsonRpcError(code, problem.detail));
      return;
    }
    response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  // RFC 6750 §3 and, for the MCP endpoint, RFC 9728 §5.1: where an OAuth client discovers how to get a token.
  private challenge(exception: unknown, problem: Problem, mcp: boolean): string {
    const challenge = exception instanceof GatehouseError ? (exception.details?.['challenge'] as BearerChallenge | undefined) : undefined;
    const parts = mcp
      ? [`resource_metadata="${this.oauth.protectedResourceMetadataUrl}"`, `scope="${CHALLENGE_SCOPES.join(' ')}"`]
      : ['realm="gatehouse"'];
    const error = challenge ? challenge.error : 'invalid_token';
    if (error) parts.push(`error="${error}"`, `error_description="${problem.detail.replace(/["\\]/g, "'")}"`);
    return `Bearer ${parts.join(', ')}`;
  }

  private toProblem(exception: unknown): Problem {
    if (exception instanceof GatehouseError) {
      const status = statusOf(exception.code);
      return { type: `https://gatehouse.dev/problems/${exception.code}`, title: TITLES[status] ?? 'Error', status, detail: exception.message };
    }
    if (exception instanceof ZodValidationException) {
      const zodError = exception.getZodError() as ZodError;
      const errors = zodError.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
      return {
        type: 'https://gatehouse.dev/problems/invalid_input',
        title: 'Bad Request',
        status: 400,
        detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        errors,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail: this.httpDetail(exception) };
    }
    const bodyParser = this.bodyParserError(exception);
    if (bodyParser) return bodyParser;
    const errorId = randomUUID();
    this.logger.error({ err: exception, errorId }, 'Unhandled error');
    return {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: `An unexpected error occurred (error id ${errorId})`,
      errorId,
    };
  }

  private httpDetail(exception: HttpException): string {
    const body = exception.getResponse();
    if (typeof body === 'string') return body;
    const message = (body as { message?: unknown }).message;
    return Array.isArray(message) ? message.join('; ') : String(message ?? exception.message);
  }

  // body-parser errors carry `type` and `status` rather than being HttpExceptions.
  private bodyParserError(exception: unknown): Problem | null {
    const error = exception as { type?: string; status?: number; limit?: number };
    if (error?.type === 'entity.too.large') {
      return { type: 'about:blank', title: TITLES[413]!, status: 413, detail: `Request body exceeds the limit of ${error.limit} bytes` };
    }
    if (error?.type === 'entity.parse.failed') {
      return { type: 'about:blank', title: TITLES[400]!, status: 400, detail: 'Parse error: the request body is not valid JSON' };
    }
    if (error?.type && typeof error.status === 'number' && error.status < 500) {
      return { type: 'about:blank', title: TITLES[error.status] ?? 'Error', status: error.status, detail: String((exception as Error).message) };
    }
    return null;
  }
}
