import {
  applyDecorators,
  ArgumentsHost,
  CanActivate,
  Catch,
  ExceptionFilter,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import {
  OAuthError,
  PrincipalRateLimitPolicy,
  RateLimiter,
  rateLimitHeaders,
  RateLimitPolicy,
  RateLimitSubject,
  retryAfterSeconds,
} from '@gatehouse/identity';
import { clientCredentials } from './client-credentials';
import { renderErrorPage, sendPage } from './pages';

// Sign-in is not counted per request: AccountService counts failed passwords only, as AuthFailureAudit counts
// failed bearer credentials. Authenticated principals' quotas are counted where they are authenticated.
type EndpointPolicy = Exclude<RateLimitPolicy, 'sign-in' | 'bearer-failure' | 'capped-call-record' | PrincipalRateLimitPolicy>;

// Machine endpoints answer in OAuth's JSON; the authorization endpoint is a page in the person's browser.
const ANSWERS: Record<EndpointPolicy, 'json' | 'page'> = { register: 'json', token: 'json', revoke: 'json', authorize: 'page', 'set-password': 'page' };

const POLICY = Symbol('gatehouse:rate-limit-policy');

/** Counts every request to the route against the policy's quotas; 429 with Retry-After once one is exhausted. */
export function RateLimited(policy: EndpointPolicy): MethodDecorator {
  return applyDecorators(SetMetadata(POLICY, policy), UseGuards(RateLimitGuard), UseFilters(RateLimitExceededFilter));
}

export class RateLimitExceeded extends Error {
  constructor(
    readonly policy: EndpointPolicy,
    readonly retryAfterSeconds: number,
  ) {
    super(`Rate limit ${policy} exceeded; retry after ${retryAfterSeconds} s`);
    this.name = 'RateLimitExceeded';
  }
}

// The quotas' state goes on every response (draft-ietf-httpapi-ratelimit-headers), not only on a 429, so that a
// client can slow down before it is refused.
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const policy = this.reflector.get<EndpointPolicy | undefined>(POLICY, context.getHandler());
    if (!policy) throw new Error('RateLimitGuard is applied through @RateLimited(policy)');
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const results = await this.limiter.consume(policy, subjectOf(request));
    http.getResponse<Response>().set(rateLimitHeaders(results));
    const retryAfter = retryAfterSeconds(results);
    if (retryAfter > 0) throw new RateLimitExceeded(policy, retryAfter);
    return true;
  }
}

// Route-scoped, so it takes precedence over the controller's OAuth error filter for this one exception.
@Catch(RateLimitExceeded)
export class RateLimitExceededFilter implements ExceptionFilter {
  catch(exception: RateLimitExceeded, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const seconds = exception.retryAfterSeconds;
    response.status(429).set({ 'Retry-After': String(seconds), 'Cache-Control': 'no-store' });
    if (ANSWERS[exception.policy] === 'json') {
      // RFC 6749 has no code for this; temporarily_unavailable is the nearest, and clients read the status first.
      response.set('Pragma', 'no-cache').json(new OAuthError('temporarily_unavailable', `Too many requests; retry after ${seconds} seconds`).toJSON());
      return;
    }
    sendPage(response, 429, renderErrorPage('Too many requests', `Too many sign-in requests came from your network. Try again in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`));
  }
}

// The client is whoever the request claims to be (it is counted before it is authenticated); malformed
// credentials are counted as no client, and refused by the endpoint itself.
function subjectOf(request: Request): RateLimitSubject {
  let client: string | undefined;
  try {
    client = clientCredentials((request.body ?? {}) as Record<string, unknown>, request.headers.authorization).clientId;
  } catch {
    client = undefined;
  }
  return { ip: request.ip, client };
}
