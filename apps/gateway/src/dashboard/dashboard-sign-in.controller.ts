import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { OidcSignInService, SessionCookie, SsoSignInError } from '@gatehouse/identity';
import { renderErrorPage, sendPage } from '../oauth/pages';
import { RateLimited } from '../oauth/rate-limit.guard';
import { SignInSteps } from '../sign-in/sign-in-steps';
import { dashboardPath, DashboardSignIn } from './dashboard-sign-in';

type Form = Record<string, unknown>;

// The dashboard's sign-in: the same pages and steps as the OAuth flow's (email, then the organization's identity
// provider or a password), ending in a browser session and the dashboard instead of a client's consent.
@ApiExcludeController()
@Controller('admin/sign-in')
export class DashboardSignInController {
  constructor(
    private readonly signIn: DashboardSignIn,
    private readonly steps: SignInSteps,
    private readonly sessions: SessionCookie,
    private readonly sso: OidcSignInService,
  ) {}

  @Get()
  @RateLimited('authorize')
  async page(@Query('next') next: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    if (await this.sessions.current(request)) return response.redirect(303, dashboardPath(next));
    const binding = this.signIn.binding(request, response);
    sendPage(response, 200, this.steps.emailPage(this.signIn.target(binding, dashboardPath(next))));
  }

  @Post('identify')
  @RateLimited('authorize')
  async identify(@Body() body: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const form = this.form(body, request, response);
    if (form) await this.steps.identify(this.signIn.target(form['csrf'] as string, dashboardPath(form['next'])), form, response);
  }

  @Post('password')
  async password(@Body() body: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const form = this.form(body, request, response);
    const user = form && (await this.steps.password(this.signIn.target(form['csrf'] as string, dashboardPath(form['next'])), form, request, response));
    if (form && user) await this.signIn.complete(response, user.id, null, form['next']);
  }

  @Get('sso/:id')
  async ssoStart(@Param('id', new ParseUUIDPipe()) providerId: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    try {
      const binding = this.signIn.binding(request, response);
      response.redirect(302, (await this.sso.start(providerId, { kind: 'dashboard', binding })).href);
    } catch (error) {
      if (!(error instanceof SsoSignInError)) throw error;
      sendPage(response, error.status, renderErrorPage('Sign-in unavailable', error.message));
    }
  }

  /** The posted form, or null after refusing one that did not come from this browser's sign-in page. */
  private form(body: unknown, request: Request, response: Response): Form | null {
    const form = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Form) : {};
    if (this.signIn.bound(request, form['csrf'])) return form;
    sendPage(response, 403, renderErrorPage('Request refused', 'The form could not be verified (it may have come from another site, or the sign-in page is too old). Open the dashboard and sign in again.'));
    return null;
  }
}
