import { randomBytes } from 'node:crypto';
import { All, Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { isAdministrator, RoleName } from '@gatehouse/config';
import {
  AccountService,
  AuthorizationRequestError,
  AuthorizationService,
  BrowserSession,
  OAuthSettings,
  OidcSignInService,
  PendingAuthorization,
  requestOrigin,
  SessionCookie,
  signedCookie,
  SsoSignInError,
} from '@gatehouse/identity';
import type { MembershipView } from '@gatehouse/db';
import { DashboardSignIn } from '../dashboard/dashboard-sign-in';
import { SignInSteps, SignInTarget } from '../sign-in/sign-in-steps';
import { renderConsentPage, renderErrorPage, renderOrganizationPage, sendPage } from './pages';
import { RateLimited } from './rate-limit.guard';

const BINDING_COOKIE = 'gatehouse_oauth';

type Form = Record<string, unknown>;

// The pages a person goes through when an MCP client sends them here: email → their organization's identity
// provider or a password → choose an organization → consent → back to the client with a code. Every POST carries
// the pending request's id and a CSRF token bound to it and to this browser (cookie), so no other site can push a
// person through. A session an identity provider started reaches its organization only (AccountService.organizations).
@ApiExcludeController()
@Controller('oauth')
export class AuthorizeController {
  constructor(
    private readonly authorization: AuthorizationService,
    private readonly accounts: AccountService,
    private readonly sessions: SessionCookie,
    private readonly sso: OidcSignInService,
    private readonly settings: OAuthSettings,
    private readonly steps: SignInSteps,
    private readonly dashboard: DashboardSignIn,
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

  /** The email step: off to the one identity provider the operator verified its domain for, else the password step. */
  @Post('identify')
  async identify(@Body() form: Form, @Req() request: Request, @Res() response: Response): Promise<void> {
    const pending = await this.pending(form['request'], request, response, form['csrf']);
    if (pending) await this.steps.identify(this.target(pending), form, response);
  }

  @Post('sign-in')
  async signIn(@Body() body: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const form = formOf(body);
    const pending = await this.pending(form['request'], request, response, form['csrf']);
    const user = pending && (await this.steps.password(this.target(pending), form, request, response));
    if (!pending || !user) return;
    await this.sessions.start(response, user.id, null);
    response.redirect(303, this.continueUrl(pending));
  }

  /** Back from the organization's identity provider (declared before sso/:id, which would match it). */
  @Get('sso/callback')
  async ssoCallback(@Req() request: Request, @Res() response: Response): Promise<void> {
    try {
      const signedIn = await this.sso.finish(new URL(request.originalUrl, this.settings.issuer), requestOrigin(request));
      const { returnTo } = signedIn;
      if (returnTo.kind === 'dashboard') {
        if (this.dashboard.bound(request, returnTo.binding)) return await this.dashboard.complete(response, signedIn.user.id, signedIn.restrictedTo, undefined);
        sendPage(response, 403, renderErrorPage('Sign-in refused', 'This sign-in was started in another browser. Open the dashboard and sign in again.'));
        return;
      }
      const pending = await this.pending(returnTo.requestId, request, response);
      if (!pending) return;
      // A restricted session has one organization, which the next page takes; a full one lets the person choose.
      await this.sessions.start(response, signedIn.user.id, signedIn.restrictedTo);
      response.redirect(303, this.continueUrl(pending));
    } catch (error) {
      if (!(error instanceof SsoSignInError)) throw error;
      sendPage(response, error.status, renderErrorPage('Sign-in failed', error.message));
    }
  }

  /** "Continue with <organization>" (or the email step): off to its identity provider. */
  @Get('sso/:id')
  async ssoStart(@Param('id', new ParseUUIDPipe()) providerId: string, @Query('request') id: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const pending = await this.pending(id, request, response);
    if (!pending) return;
    try {
      response.redirect(302, (await this.sso.start(providerId, { kind: 'authorization', requestId: pending.id })).href);
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
    const organizations = await this.accounts.organizations(session);
    const chosen = organizations.find((m) => m.organization.id === form['organization']);
    if (!chosen) return this.refuseOrganization(request, response, session, organizations);
    await this.authorization.chooseOrganization(pending, chosen.organization.id);
    response.redirect(303, this.continueUrl(pending));
  }

  @Post('consent')
  async consent(@Body() body: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const form = formOf(body);
    const pending = await this.pending(form['request'], request, response, form['csrf']);
    if (!pending) return;
    const session = await this.session(request);
    if (!session || !pending.organizationId) return response.redirect(303, this.continueUrl(pending));
    const organizations = await this.accounts.organizations(session);
    const membership = organizations.find((m) => m.organization.id === pending.organizationId);
    if (!membership) return this.refuseOrganization(request, response, session, organizations);
    // Recomputed here rather than trusted from the form: only an admin who was offered the box can tick it.
    const grantAdmin = form['administration'] === 'yes' && offersAdministration(pending, membership.role);
    const target =
      form['decision'] === 'approve'
        ? await this.authorization.approve(pending, session.userId, pending.organizationId, grantAdmin)
        : await this.authorization.deny(pending);
    response.redirect(303, target.href);
  }

  /** Shows whatever the request needs next: sign-in, organization choice or consent. */
  private async next(pending: PendingAuthorization, request: Request, response: Response): Promise<void> {
    const session = await this.session(request);
    const user = session && (await this.accounts.find(session.userId));
    const memberships = session && user ? await this.accounts.organizations(session) : [];
    // A restricted session whose organization let the person go is of no use: they sign in again.
    if (!session || !user || (memberships.length === 0 && session.restrictedTo)) {
      sendPage(response, 200, this.steps.emailPage(this.target(pending)));
      return;
    }
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
        offerAdministration: offersAdministration(pending, organization.role),
      }),
      pending.redirectUri,
    );
  }

  /** The pending request of a page, or null after answering with an error page. */
  private async pending(id: unknown, request: Request, response: Response, csrf?: unknown): Promise<PendingAuthorization | null> {
    const pending = await this.authorization.load(id, signedCookie(request, BINDING_COOKIE));
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

  /**
   * A choice of organization the session may not make (a forged form, or a request chosen under another session).
   * A restricted session is ended with it, so that starting again leads to the sign-in page the sentence names.
   */
  private async refuseOrganization(request: Request, response: Response, session: BrowserSession, organizations: MembershipView[]): Promise<void> {
    const only = session.restrictedTo ? (organizations[0]?.organization.name ?? 'its organization') : null;
    if (only) await this.sessions.end(request, response);
    const message = only
      ? `You signed in through the identity provider of ${only}, which signs you in to ${only} only, so you have been signed out. To continue to another organization, start again from the application you came from and sign in with your password or through that organization's own sign-in.`
      : 'You are not a member of that organization. Choose one of yours, or ask an administrator of that organization to add you.';
    sendPage(response, 403, renderErrorPage('Choose an organization', message));
  }

  private target(pending: PendingAuthorization): SignInTarget {
    return {
      clientName: pending.clientName,
      identifyAction: '/oauth/identify',
      passwordAction: '/oauth/sign-in',
      hidden: this.hidden(pending),
      ssoHref: (providerId) => this.ssoHref(pending, providerId),
    };
  }

  private ssoHref(pending: PendingAuthorization, providerId: string): string {
    return `/oauth/sso/${providerId}?request=${encodeURIComponent(pending.id)}`;
  }

  private hidden(pending: PendingAuthorization): Record<string, string> {
    return { request: pending.id, csrf: this.authorization.csrfToken(pending) };
  }

  private continueUrl(pending: PendingAuthorization): string {
    return `/oauth/continue?request=${encodeURIComponent(pending.id)}`;
  }

  private session(request: Request): Promise<BrowserSession | null> {
    return this.sessions.current(request);
  }

  /** The random value tying pending requests to this browser; created on its first authorization request. */
  private binding(request: Request, response: Response): string {
    const existing = signedCookie(request, BINDING_COOKIE);
    if (existing) return existing;
    const binding = randomBytes(24).toString('base64url');
    response.cookie(BINDING_COOKIE, binding, this.sessions.options('/oauth', 3600));
    return binding;
  }

}

/** Administration is offered to admins and owners whose client asked for it; nobody else can grant it. */
function offersAdministration(pending: PendingAuthorization, role: RoleName): boolean {
  return pending.admin && isAdministrator(role);
}

// A post without a form (another content type, or none) has no fields: the page then says what is missing.
function formOf(body: unknown): Form {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Form) : {};
}

function redirectLabel(uri: string): string {
  const url = new URL(uri);
  return url.host || `${url.protocol}//`;
}
