import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { AppConfig, unstorableTextAt } from '@gatehouse/config';
import { EndpointService } from '@gatehouse/governance';
import { BearerAuthenticator, bearerToken, mcpDoorOf, requestOrigin } from '@gatehouse/identity';
import { originRefusal } from './origin.middleware';
import { McpSessions } from './session/mcp-sessions.service';
import { exchangeMessage } from './session/tool-call-exchange';

/** What Express's global middleware does for a request the front door answers itself. */
export interface FrontDoorSteps {
  /** The JSON body parser Express runs: the judge of every body the front door does not parse itself. */
  json: RequestHandler;
  /** The request id and the request's log line (Express's first middleware). */
  logRequest(request: IncomingMessage, response: ServerResponse): void;
  /** The security headers (helmet's). */
  secureResponse(response: ServerResponse): void;
  /** The client's address, as Express's request.ip gives it (the `trust proxy` setting applied). */
  clientAddress(request: IncomingMessage): string | undefined;
}

/** A request the front door takes: its bearer token and its door (null: /mcp itself). */
interface Taken {
  token: string;
  endpoint: string | null;
}

type HandedOver = IncomingMessage & { body?: unknown; [BODY_ERROR]?: unknown };

const BODY_ERROR = Symbol('bodyError');
// /mcp or /mcp/<one segment>, as clients send them: anything else (a query, a trailing slash, other case) is Express's.
const LEAN_PATH = /^\/mcp(?:\/[^/?]+)?$/;

/**
 * tools/call on an established session, answered in front of Express: the Node server's request listener takes a POST
 * to /mcp or /mcp/<endpoint> that Express's global middleware and McpController's middleware would pass through
 * untouched (allowed Origin, a door, a JSON body within the limit in UTF-8 without content encoding, a bearer token and
 * a session id), reads its body once, authenticates exactly as AuthGuard does, and lets McpSessions.handleExchange
 * answer it. Everything else reaches the Express app as it arrived; a request whose body was read on the way goes on
 * with the body Express's JSON parser would have given it (a body the front door does not parse itself, or cannot, is
 * parsed by that same parser, so a malformed one gets its very error), and Express, its guard and McpSessions.handle
 * give every other answer, audit a failed credential and log as always.
 */
@Injectable()
export class McpFrontDoor {
  private readonly allowedOrigins: ReadonlySet<string>;
  private readonly limit: number;

  constructor(
    config: AppConfig,
    private readonly authenticator: BearerAuthenticator,
    private readonly sessions: McpSessions,
    private readonly endpoints: EndpointService,
  ) {
    this.allowedOrigins = config.allowedOrigins;
    this.limit = config.env.GATEHOUSE_MAX_BODY_BYTES;
  }

  /** The JSON body middleware for Express, in the parser's place: a body the front door read goes on as it was read. */
  bodyParser(json: RequestHandler): RequestHandler {
    return (request, response, next) => {
      const handedOver = request as HandedOver;
      if (BODY_ERROR in handedOver) return next(handedOver[BODY_ERROR]);
      json(request, response, next);
    };
  }

  /** Puts the front door ahead of the Express app, which stays the server's only other request listener. */
  install(server: Server, app: Express, steps: FrontDoorSteps): void {
    if (!server.listeners('request').includes(app)) throw new Error('The HTTP server does not serve this Express app');
    server.removeListener('request', app);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const taken = this.takes(request);
      if (!taken) return app(request, response);
      steps.logRequest(request, response);
      this.read(request, (error, raw, body) => {
        if (error) return this.handOver(app, request, response, { error });
        if (body === undefined) return this.parseAsExpress(app, steps.json, request, response, raw);
        if (unstorableTextAt(body, 'body') || !exchangeMessage(body)) return this.handOver(app, request, response, { body });
        this.exchange(app, steps, request, response, body, taken);
      });
    });
  }

  // Only what every step before McpController's route would pass through unchanged: then its token and door.
  private takes(request: IncomingMessage): Taken | null {
    const { headers } = request;
    if (request.method !== 'POST' || !LEAN_PATH.test(request.url ?? '')) return null;
    const endpoint = mcpDoorOf({ originalUrl: request.url! });
    const token = bearerToken(request);
    const lean =
      endpoint !== undefined &&
      token !== undefined &&
      typeof headers['mcp-session-id'] === 'string' &&
      originRefusal(headers.origin, this.allowedOrigins) === null &&
      isJsonInUtf8(headers['content-type']) &&
      headers['content-encoding'] === undefined &&
      headers['transfer-encoding'] === undefined &&
      /^[1-9][0-9]{0,9}$/.test(headers['content-length'] ?? '') &&
      Number(headers['content-length']) <= this.limit;
    return lean ? { token, endpoint } : null;
  }

  // The body's bytes (Content-Length at most: Node's parser delivers no more), and the body when it is a JSON object;
  // anything else is left to Express's parser.
  private read(request: IncomingMessage, done: (error: Error | null, raw: Buffer, body?: Record<string, unknown>) => void): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The client went away mid-body: raw-body's answer (nobody is left to read it).
    request.once('error', (error) => done(Object.assign(error, { status: 400, expose: true, type: 'request.aborted' }), Buffer.alloc(0)));
    request.once('end', () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      // Decoded as the parser decodes UTF-8 (iconv-lite drops a byte order mark).
      let text = raw.toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.charCodeAt(0) !== 0x7b /* { */) return done(null, raw);
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      done(null, raw, body);
    });
  }

  // The parser reads a copy of the bytes with the request's headers: its body, or its error, is what it would have given.
  private parseAsExpress(app: Express, json: RequestHandler, request: IncomingMessage, response: ServerResponse, raw: Buffer): void {
    const copy = Object.assign(Readable.from([raw]), { headers: request.headers }) as unknown as Request & { body?: unknown };
    json(copy, response as Response, (error?: unknown) => this.handOver(app, request, response, error ? { error } : { body: copy.body }));
  }

  private exchange(app: Express, steps: FrontDoorSteps, request: IncomingMessage, response: ServerResponse, body: Record<string, unknown>, { token, endpoint }: Taken): void {
    this.authenticator
      .authenticate(token, { kind: 'mcp', endpoint })
      .then(async (principal) => ({ principal, door: await this.endpoints.door(principal, endpoint) }))
      .then(
        ({ principal, door }) => {
          steps.secureResponse(response);
          // Node's own request and response, not Express's: see writeJson. A copy of the principal, as the guard makes:
          // the cached one is shared by requests from elsewhere.
          const served = Object.assign(request, { body, ip: steps.clientAddress(request) });
          const authenticated = { ...principal, origin: requestOrigin(served) };
          try {
            if (!this.sessions.handleExchange(served, response, authenticated, door)) this.handOver(app, request, response, { body });
          } catch (error) {
            this.handOver(app, request, response, { error });
          }
        },
        // The guard answers and audits a failing credential; the controller an endpoint the organization lacks.
        () => this.handOver(app, request, response, { body }),
      );
  }

  // To Express as body-parser would have left the request: with its body, or with the error that Express's error
  // handling (and the door's error form) answers.
  private handOver(app: Express, request: IncomingMessage, response: ServerResponse, outcome: { body: unknown } | { error: unknown }): void {
    const handedOver = request as HandedOver;
    if ('error' in outcome) handedOver[BODY_ERROR] = outcome.error;
    else handedOver.body = outcome.body;
    app(request, response);
  }
}

// application/json, with no parameter but charset=utf-8: the parser's type (type-is 'application/json') and its default
// charset. Any other form is left to the parser, whose answers (415, or a body it skips) depend on the details.
function isJsonInUtf8(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type, ...parameters] = contentType.split(';');
  if (type!.trim().toLowerCase() !== 'application/json' || parameters.length > 1) return false;
  return parameters.length === 0 || parameters[0]!.trim().toLowerCase() === 'charset=utf-8';
}
