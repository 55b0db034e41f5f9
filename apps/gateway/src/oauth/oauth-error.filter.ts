import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { OAuthError } from '@gatehouse/identity';

// The token, registration and revocation endpoints answer errors in RFC 6749 §5.2 form, which OAuth clients
// parse; everything thrown there ends up here, once.
@Catch()
export class OAuthErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(OAuthErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<Request>();
    const response = host.switchToHttp().getResponse<Response>();
    const error = this.toOAuthError(exception);
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Pragma', 'no-cache');
    if (error.code === 'invalid_client' && /^Basic /i.test(request.headers.authorization ?? '')) {
      response.setHeader('WWW-Authenticate', 'Basic realm="gatehouse"');
    }
    response.status(error.status).json(error.toJSON());
  }

  private toOAuthError(exception: unknown): OAuthError {
    if (exception instanceof OAuthError) return exception;
    // body-parser: malformed or oversized bodies are the client's mistake.
    const bodyError = exception as { type?: string; status?: number; message?: string };
    if (typeof bodyError?.status === 'number' && bodyError.status < 500 && typeof bodyError.type === 'string') {
      return new OAuthError('invalid_request', `The request body could not be read: ${bodyError.message ?? bodyError.type}`);
    }
    const errorId = randomUUID();
    this.logger.error({ err: exception, errorId }, 'Unexpected error at an OAuth endpoint');
    return new OAuthError('server_error', `An unexpected error occurred (error id ${errorId})`);
  }
}
