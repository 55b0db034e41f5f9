import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { sameSecret, SessionCookie, signedCookie } from '@gatehouse/identity';
import { SignInTarget } from '../sign-in/sign-in-steps';

const BINDING_COOKIE = 'gatehouse_signin';
const BINDING_SECONDS = 3600;
export const DASHBOARD_HOME = '/admin/';

// A dashboard sign-in belongs to the browser that started it: a random value in a signed cookie, repeated in every
// form of the sign-in pages and in the identity provider's flow. Another site can neither post the forms nor finish
// an identity provider's flow in this browser (signing a person in as someone else).
@Injectable()
export class DashboardSignIn {
  constructor(private readonly sessions: SessionCookie) {}

  /** This browser's sign-in binding, created on its first visit to the sign-in page. */
  binding(request: Request, response: Response): string {
    const existing = signedCookie(request, BINDING_COOKIE);
    if (existing) return existing;
    const binding = randomBytes(24).toString('base64url');
    // Path "/": the identity provider's callback is under /oauth.
    response.cookie(BINDING_COOKIE, binding, this.sessions.options('/', BINDING_SECONDS));
    return binding;
  }

  /** Whether `sent` is this browser's binding. */
  bound(request: Request, sent: unknown): boolean {
    const binding = signedCookie(request, BINDING_COOKIE);
    return binding !== undefined && sameSecret(binding, sent);
  }

  target(binding: string, next: string): SignInTarget {
    return {
      clientName: 'the Gatehouse dashboard',
      identifyAction: '/admin/sign-in/identify',
      passwordAction: '/admin/sign-in/password',
      hidden: { csrf: binding, next },
      ssoHref: (providerId) => `/admin/sign-in/sso/${providerId}`,
    };
  }

  /** Signed in: the session starts, the binding is spent, and the person goes to the page they asked for. */
  async complete(response: Response, userId: string, restrictedTo: string | null, next: unknown): Promise<void> {
    await this.sessions.start(response, userId, restrictedTo);
    response.clearCookie(BINDING_COOKIE, { path: '/' });
    response.redirect(303, dashboardPath(next));
  }
}

/** A page of the dashboard to go to after signing in: only a path under /admin/, never another site. */
export function dashboardPath(next: unknown): string {
  return typeof next === 'string' && /^\/admin\/[\w\-./?=&%]*$/.test(next) && !next.includes('//') && !next.startsWith('/admin/sign-in') ? next : DASHBOARD_HOME;
}
