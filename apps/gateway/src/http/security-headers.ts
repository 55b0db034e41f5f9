import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import helmet, { HelmetOptions } from 'helmet';

export interface SecurityHeaders {
  /** Sets them on a response (and removes X-Powered-By), as helmet does. */
  set(response: ServerResponse): void;
  middleware(request: Request, response: Response, next: NextFunction): void;
}

/**
 * Helmet's headers, computed once: with these options they depend on nothing in the request, so helmet's chain of
 * middleware runs a single time, here, and every response (Express's, and the MCP front door's) gets the same list.
 */
export function securityHeaders(options: Readonly<HelmetOptions>): SecurityHeaders {
  const headers: [string, string][] = [];
  let finished = false;
  const recorder = {
    setHeader: (name: string, value: string | number) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  // A helmet option that reads the request, or answers asynchronously, would make the list per request.
  if (!finished) throw new Error('helmet did not set its headers synchronously');
  const set = (response: ServerResponse) => {
    for (const [name, value] of headers) response.setHeader(name, value);
    response.removeHeader('X-Powered-By');
  };
  return {
    set,
    middleware: (_request, response, next) => {
      set(response);
      next();
    },
  };
}
