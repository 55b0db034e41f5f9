import { randomBytes } from 'node:crypto';
import { All, Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { CookieOptions, Request, Response } from 'express';
import {
  AccountService,
  AuthorizationRequestError,
  AuthorizationService,
  BrowserSessions,
  OAuthSettings,
  OidcSignInService,
  PendingAuthorization,
  requestOrigin,
  SignInAudit,
  SignInThrottledError,
  SsoSignInError,
} from '@gatehouse/identity';
import { renderConsentPage, renderErrorPage, renderOrganizationPage, renderSignInPage, sendPage } from './pages';
import { RateLimited } from './rate-limit.guard';

const SESSION_COOKIE = 'gatehouse_session';
const BINDING_COOKIE = 'gatehouse_oauth';

type Form = Record<string, unknown>;

// The pages a person goes through when an MCP client sends them here: sign in → choose an organization →
// consent → back to the client with a code. Every POST carries the pending request's id and a CSRF token
// bound to it and to this browser (cookie), so no other site can push a person through.
@ApiExcludeController()
@Controller('oauth')
export class AuthorizeController {
  constructor(
    private readonly authorization: AuthorizationService,
    private readonly accounts: AccountService,
    private readonly sessions: BrowserSessions,
    private readonly sso: OidcSignInService,
    private readonly settings: OAuthSettings,
    private readonly signIns: SignInAudit,
  ) {}

  @All('authorize')
  @RateLimited('authorize')
  async authorize(@Req() request: Request, @Res() response: Response): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'POST') {
      response.setHeader('Allow', 'GET, POST');
      sendPage(response, 405, renderErrorPage('Method not allowed', 'The authorization endpoint takes GET or POST.'));
      return;
    }
    const params = formOf(request.method === 'POST' ? request.body : request.query);
    const binding = this.binding(request, response);
    try {
      const pending = await this.authorization.begin(params, binding);
      await this.next(pending, request, response);
    } catch (error) {
      if (!(error instanceof AuthorizationRequestError)) throw error;
      if (error.redirect) return response.redirect(302, error.redirect.href);
      sendPage(response, 400, renderErrorPage('This sign-in link is not valid', `${error.error.description}. Start again from the application you came from.`));
    }
  }

  @Get('continue')
  async continue(@Query('request') id: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const pending = await this.pending(id, request, response);
    if (pending) await this.next(pending, request, response);
  }

  @Post('sign-in')
  async signIn(@Body() body: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const form = formOf(body);
    const pending = await this.pending(form['request'], request, response, form['csrf']);
    if (!pending) return;
    const email = typeof form['email'] === 'string' ? form['email'] : '';
    const password = typeof form['password'] === 'string' ? form['password'] : '';
    const origin = requestOrigin(request);
    let user;
    try {
      user = email && password ? await this.accounts.signIn(email, password, { ip: request.ip }) : null;
    } catch (error) {
      if (!(error instanceof SignInThrottledError)) throw error;
      await this.signIns.failed(email, 'password', 'throttled', origin);
      response.setHeader('Retry-After', String(error.retryAfterSeconds));
      await this.signInPage(response, pending, 429, email, error.message);
      return;
    }
    if (!user) {
      await this.signIns.failed(email, 'password', email && password ? 'wrong_email_or_password' : 'missing_credentials', origin);
      await this.signInPage(response, pending, 401, email, 'Wrong email or password.');
      return;
    }
    await this.signIns.succeeded(user, 'password', origin);
    await this.startSession(response, user.id);
    response.redirect(303, this.continueUrl(pending));
  }

  /** Back from the organization's identity provider (declared before sso/:id, which would match it). */
  @Get('sso/callback')
  async ssoCallback(@Req() request: Request, @Res() response: Response): Promise<void> {
    try {
      const signedIn = await this.sso.finish(new URL(request.originalUrl, this.settings.issuer), requestOrigin(request));
      const pending = await this.pending(signedIn.requestId, request, response);
      if (!pending) return;
      await this.startSession(response, signedIn.user.id);
      // They signed in through this organization's provider: that is the organization they meant.
      await this.authorization.chooseOrganization(pending, signedIn.organizationId);
      response.redirect(303, this.continueUrl(pending));
    } catch (error) {
      if (!(error instanceof SsoSignInError)) throw error;
      sendPage(response, error.status, renderErrorPage('Sign-in failed', error.message));
    }
  }

  /** "Continue with <organization>": off to its identity provider. */
  @Get('sso/:id')
  async ssoStart(@Param('id', new ParseUUIDPipe()) providerId: string, @Query('request') id: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const pending = await this.pending(id, request, response);
    if (!pending) return;
    try {
      response.redirect(302, (await this.sso.start(providerId, pending.id)).href);
    } catch (error) {
      if (!(error instanceof SsoSignInError)) throw error;
      sendPage(response, error.status, renderErrorPage('Sign-in unavailable', error.message));
    }
  }

  @Post('organization')
  async organization(@Body() body: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const form = formOf(body);
    const pending = await this.pending(form['request'], request, response, form['csrf']);
    const session = pending && (await this.session(request));
    if (!pending) return;
    if (!session) return response.redirect(303, this.continueUrl(pending));
    const memberships = await this.accounts.memberships(session.userId);
    const chosen = memberships.find((m) => m.organization.id === form['organization']);
    if (!chosen) {
      sendPage(response, 400, renderErrorPage('Choose an organization', 'You are not a member of that organization.'));
      return;
    }
    await this.authorization.chooseOrganization(pending, chosen.organization.id);
    response.redirect(303, this.continueUrl(pending));
  }

  @Post('consent')
  async consent(@Body() body: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const form = formOf(body);
    const pending = await this.pending(form['request'], request, response, form['csrf']);
    if (!pending) return;
    const session = await this.session(request);
    const memberships = session ? await this.accounts.memberships(session.userId) : [];
    if (!session || !pending.organizationId || !memberships.some((m) => m.organization.id === pending.organizationId)) {
      return response.redirect(303, this.continueUrl(pending));
    }
    const target =
      form['decision'] === 'approve'
        ? await this.authorization.approve(pending, session.userId, pending.organizationId)
        : await this.authorization.deny(pending);
    response.redirect(303, target.href);
  }

  /** Shows whatever the request needs next: sign-in, organization choice or consent. */
  private async next(pending: PendingAuthorization, request: Request, response: Response): Promise<void> {
    const session = await this.session(request);
    const user = session && (await this.accounts.find(session.userId));
    if (!user) return this.signInPage(response, pending, 200);
    const memberships = await this.accounts.memberships(user.id);
    if (memberships.length === 0) {
      sendPage(response, 403, renderErrorPage('No organization', `${user.email} is not a member of any organization on this Gatehouse. Ask an administrator to add you.`));
      return;
    }
    let organization = memberships.find((m) => m.organization.id === pending.organizationId);
    if (!organization && memberships.length === 1) {
      organization = memberships[0]!;
      await this.authorization.chooseOrganization(pending, organization.organization.id);
    }
    if (!organization) {
      sendPage(
        response,
        200,
        renderOrganizationPage({
          action: '/oauth/organization',
          hidden: this.hidden(pending),
          clientName: pending.clientName,
          userEmail: user.email,
          organizations: memberships.map((m) => ({ ...m.organization, role: m.role })),
        }),
      );
      return;
    }
    sendPage(
      response,
      200,
      renderConsentPage({
        action: '/oauth/consent',
        hidden: this.hidden(pending),
        clientName: pending.clientName,
        redirectHost: redirectLabel(pending.redirectUri),
        organizationName: organization.organization.name,
        userEmail: user.email,
        access: pending.access,
      }),
      pending.redirectUri,
    );
  }

  /** The pending request of a page, or null after answering with an error page. */
  private async pending(id: unknown, request: Request, response: Response, csrf?: unknown): Promise<PendingAuthorization | null> {
    const pending = await this.authorization.load(id, this.signedCookie(request, BINDING_COOKIE));
    if (!pending) {
      sendPage(response, 400, renderErrorPage('This sign-in has expired', 'The request is no longer valid in this browser. Start again from the application you came from.'));
      return null;
    }
    if (request.method === 'POST' && !this.authorization.checkCsrf(pending, csrf)) {
      sendPage(response, 403, renderErrorPage('Request refused', 'The form could not be verified (it may have come from another site). Start again from the application you came from.'));
      return null;
    }
    return pending;
  }

  private async startSession(response: Response, userId: string): Promise<void> {
    const sessionId = await this.sessions.create(userId);
    response.cookie(SESSION_COOKIE, sessionId, this.cookieOptions('/', this.sessions.ttlSeconds));
  }

  private async signInPage(response: Response, pending: PendingAuthorization, status: number, email?: string, error?: string): Promise<void> {
    const providers = await this.sso.links();
    sendPage(
      response,
      status,
      renderSignInPage({
        action: '/oauth/sign-in',
        hidden: this.hidden(pending),
        clientName: pending.clientName,
        identityProviders: providers.map((provider) => ({
          label: provider.label,
          href: `/oauth/sso/${provider.id}?request=${encodeURIComponent(pending.id)}`,
        })),
        ...(email ? { email } : {}),
        ...(error ? { error } : {}),
      }),
    );
  }

  private hidden(pending: PendingAuthorization): Record<string, string> {
    return { request: pending.id, csrf: this.authorization.csrfToken(pending) };
  }

  private continueUrl(pending: PendingAuthorization): string {
    return `/oauth/continue?request=${encodeURIComponent(pending.id)}`;
  }

  private async session(request: Request) {
    return this.sessions.find(this.signedCookie(request, SESSION_COOKIE));
  }

  /** The random value tying pending requests to this browser; created on its first authorization request. */
  private binding(request: Request, response: Response): string {
    const existing = this.signedCookie(request, BINDING_COOKIE);
    if (existing) return existing;
    const binding = randomBytes(24).toString('base64url');
    response.cookie(BINDING_COOKIE, binding, this.cookieOptions('/oauth', 3600));
    return binding;
  }

  private signedCookie(request: Request, name: string): string | undefined {
    const value = (request.signedCookies as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'string' ? value : undefined;
  }

  // Lax, not Strict: the person arrives from the client's site (ChatGPT, Claude) by a top-level navigation.
  private cookieOptions(path: string, maxAgeSeconds: number): CookieOptions {
    return { httpOnly: true, sameSite: 'lax', secure: this.settings.secureCookies, signed: true, path, maxAge: maxAgeSeconds * 1000 };
  }
}

// A post without a form (another content type, or none) has no fields: the page then says what is missing.
function formOf(body: unknown): Form {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Form) : {};
}

function redirectLabel(uri: string): string {
  const url = new URL(uri);
  return url.host || `${url.protocol}//`;
}
