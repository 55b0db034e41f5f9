import { randomUUID } from 'node:crypto';
import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ZodValidationException } from 'nestjs-zod';
import { ZodError } from 'zod';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { OAuthError } from '@gatehouse/identity';

/** RFC 9457 problem details: what any error becomes before its door gives it the form its clients read. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
  errorId?: string;
}

// Every code has its status (the Record's type checks that none is missing).
const STATUS: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.InvalidInput]: HttpStatus.BAD_REQUEST,
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.Conflict]: HttpStatus.CONFLICT,
  [ErrorCode.Unauthenticated]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [ErrorCode.DownstreamUnavailable]: HttpStatus.BAD_GATEWAY,
  [ErrorCode.DownstreamTimeout]: HttpStatus.GATEWAY_TIMEOUT,
  [ErrorCode.DownstreamError]: HttpStatus.BAD_GATEWAY,
  [ErrorCode.DownstreamTooLarge]: HttpStatus.BAD_GATEWAY,
  [ErrorCode.ShuttingDown]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.RateLimited]: HttpStatus.TOO_MANY_REQUESTS,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

export const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const logger = new Logger('ProblemFilter');

/** The problem an exception is. Unexpected errors get an error id, also in the log line that records their cause. */
export function problemOf(exception: unknown): Problem {
  if (exception instanceof GatehouseError) {
    const status = statusOf(exception.code);
    return { type: `https://gatehouse.dev/problems/${exception.code}`, title: TITLES[status] ?? 'Error', status, detail: exception.message };
  }
  if (exception instanceof OAuthError) {
    return { type: `https://gatehouse.dev/problems/oauth/${exception.code}`, title: TITLES[exception.status] ?? 'Error', status: exception.status, detail: exception.description };
  }
  // nestjs-zod wraps whatever a schema throws; only a ZodError is the caller's mistake, anything else is a bug.
  if (exception instanceof ZodValidationException && exception.getZodError() instanceof ZodError) {
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
  if (exception instanceof HttpException && !(exception instanceof ZodValidationException)) {
    const status = exception.getStatus();
    return { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail: httpDetail(exception) };
  }
  const clientError = clientErrorOf(exception);
  if (clientError) return clientError;
  const errorId = randomUUID();
  logger.error({ err: exception, errorId }, 'Unhandled error');
  return { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: `An unexpected error occurred (error id ${errorId})`, errorId };
}

function httpDetail(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : String(message ?? exception.message);
}

// What Express and its body parsers reject before any route runs: http-errors marked `expose` (a 4xx meant for the
// client: malformed, oversized, wrongly encoded bodies), and a path parameter that does not percent-decode.
function clientErrorOf(exception: unknown): Problem | null {
  const error = exception as { type?: unknown; status?: unknown; expose?: unknown; limit?: unknown; message?: unknown } | null;
  if (!error || typeof error.status !== 'number' || error.status < 400 || error.status >= 500) return null;
  if (error.expose !== true && !(exception instanceof URIError)) return null;
  const status = error.status;
  const detail =
    error.type === 'entity.too.large'
      ? `Request body exceeds the limit of ${String(error.limit)} bytes`
      : error.type === 'entity.parse.failed'
        ? 'Parse error: the request body is not valid JSON'
        : String(error.message);
  return { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail };
}
