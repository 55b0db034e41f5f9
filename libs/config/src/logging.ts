import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { Logger as Pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { AppConfig } from './app-config';

/** The root pino logger, for HTTP request logging (see requestLogger). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

// Nest's Logger, backed by pino (structured JSON). nestjs-pino's own request middleware is left out
// (forRoutes: []): it runs each request inside an AsyncLocalStorage, which on Node 20 puts an async hook on
// every promise the process creates, about a tenth of a proxied tools/call. Requests are logged by
// requestLogger() instead; a line logged while handling one carries its errorId or names, not the request id.
@Global()
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig): DynamicModule {
    const logger = pino({
      level: config.env.LOG_LEVEL,
      ...(config.env.NODE_ENV === 'development' && process.stdout.isTTY
        ? { transport: { target: 'pino-pretty', options: { singleLine: true } } }
        : {}),
    });
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true, forRoutes: [] })],
      providers: [{ provide: ROOT_LOGGER, useValue: logger }],
      exports: [ROOT_LOGGER, LoggerModule],
    };
  }
}

/** The request id and log line of every request: Express's first middleware, and `begin` for requests served before Express. */
export interface RequestLogger {
  (request: IncomingMessage, response: ServerResponse, next: () => void): void;
  begin(request: IncomingMessage, response: ServerResponse): void;
}

const LOGGED = Symbol('requestLogged');

/** One compact line per request (method, path, status, time, request id; no headers), X-Request-Id set. */
export function requestLogger(logger: Pino): RequestLogger {
  const lines = pinoHttp({
    logger,
    genReqId: requestId,
    autoLogging: { ignore: (request) => QUIET_PATHS.has(request.url?.split('?')[0] ?? '') },
    quietReqLogger: true,
    serializers: {
      req: (request: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
        id: request.id,
        method: request.method,
        url: request.url,
        remoteAddress: request.remoteAddress,
      }),
      res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
    },
  });
  const begin = (request: IncomingMessage & { id?: unknown; [LOGGED]?: true }, response: ServerResponse) => {
    // Once per request, whichever of the front door and Express saw it first.
    if (request[LOGGED]) return;
    request[LOGGED] = true;
    // pino-http writes every line at info: below that, its per-request child loggers would only be built and dropped.
    if (lines.logger.isLevelEnabled('info')) lines(request, response);
    else request.id = requestId(request, response);
  };
  return Object.assign((request: IncomingMessage, response: ServerResponse, next: () => void) => {
    begin(request, response);
    next();
  }, { begin });
}

// The id is taken from X-Request-Id when it is sane, so a caller can correlate.
function requestId(request: IncomingMessage, response: ServerResponse): string {
  const incoming = request.headers['x-request-id'];
  const id = typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
  response.setHeader('X-Request-Id', id);
  return id;
}
