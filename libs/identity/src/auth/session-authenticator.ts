import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { GatehouseError } from '@gatehouse/config';
import { AccountService } from '../account/account.service';
import { BrowserSession, csrfTokenMatches } from '../account/browser-sessions.service';
import { SessionCookie } from '../account/session-cookie';
import { unauthenticated } from './bearer-authenticator';
import { personPrincipal, Principal } from './principal';

/** The header naming the organization a dashboard request acts in (its slug); `?organization=` does too. */
export const ORGANIZATION_HEADER = 'gatehouse-organization';
/** The header carrying the session's CSRF token on every change. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

// A person signed in to the dashboard, as a principal of the admin API: their current role in the organization the
// request names (a session an identity provider started reaches its own organization only). Every change carries the
// session's CSRF token, so a page of another site cannot make one with the person's cookie.
@Injectable()
export class SessionAuthenticator {
  constructor(
    private readonly cookie: SessionCookie,
    private readonly accounts: AccountService,
  ) {}

  presented(request: Request): boolean {
    return this.cookie.presented(request);
  }

  /** The live session of the request, its CSRF token checked on anything but a read. */
  async session(request: Request): Promise<BrowserSession> {
    const session = await this.cookie.current(request);
    if (!session) throw unauthenticated('Your session has ended: sign in again at /admin', {});
    if (!SAFE_METHODS.has(request.method) && !csrfTokenMatches(session, request.headers[CSRF_HEADER])) {
      throw GatehouseError.forbidden('Missing or wrong CSRF token: send the X-CSRF-Token header that GET /api/v1/session gives');
    }
    return session;
  }

  async authenticate(request: Request): Promise<Principal> {
    const session = await this.session(request);
    const [user, memberships] = await Promise.all([this.accounts.find(session.userId), this.accounts.organizations(session)]);
    if (!user) throw unauthenticated('Your account no longer exists', {});
    // The header, or the query (EventSource cannot set headers).
    const slug = request.headers[ORGANIZATION_HEADER] ?? request.query['organization'];
    const membership = typeof slug === 'string' ? memberships.find((m) => m.organization.slug === slug) : memberships.length === 1 ? memberships[0] : undefined;
    if (!membership) {
      throw GatehouseError.forbidden(
        typeof slug === 'string'
          ? `You are not a member of the organization "${slug}", or this session may not act in it`
          : 'Name the organization to act in: send the Gatehouse-Organization header with its slug',
      );
    }
    return personPrincipal(membership.organization, { userId: user.id, email: user.email, name: user.name, role: membership.role });
  }
}
