import { Injectable } from '@nestjs/common';
import type { CookieOptions, Request, Response } from 'express';
import { OAuthSettings } from '../oauth/oauth-settings';
import { BrowserSession, BrowserSessions } from './browser-sessions.service';

const SESSION_COOKIE = 'gatehouse_session';

/** A cookie signed with the gateway's cookie key (cookie-parser), if the request carries it intact. */
export function signedCookie(request: Request, name: string): string | undefined {
  const value = (request.signedCookies as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

// The browser session's cookie, one for the sign-in pages and the dashboard: HttpOnly, signed, Secure under https.
// Lax, not Strict: a person arrives at the OAuth pages from the client's site (ChatGPT, Claude) by a top-level
// navigation; the dashboard's changes are protected by the session's CSRF token instead.
@Injectable()
export class SessionCookie {
  constructor(
    private readonly sessions: BrowserSessions,
    private readonly settings: OAuthSettings,
  ) {}

  async start(response: Response, userId: string, restrictedTo: string | null): Promise<BrowserSession> {
    const session = await this.sessions.create(userId, restrictedTo);
    response.cookie(SESSION_COOKIE, session.id, this.options('/', this.sessions.cookieSeconds));
    return session;
  }

  current(request: Request): Promise<BrowserSession | null> {
    return this.sessions.find(signedCookie(request, SESSION_COOKIE));
  }

  /** Whether the request carries a session cookie at all (live or not). */
  presented(request: Request): boolean {
    return signedCookie(request, SESSION_COOKIE) !== undefined;
  }

  async end(request: Request, response: Response): Promise<void> {
    const id = signedCookie(request, SESSION_COOKIE);
    if (id) await this.sessions.destroy(id);
    response.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  options(path: string, maxAgeSeconds: number): CookieOptions {
    return { httpOnly: true, sameSite: 'lax', secure: this.settings.secureCookies, signed: true, path, maxAge: maxAgeSeconds * 1000 };
  }
}
