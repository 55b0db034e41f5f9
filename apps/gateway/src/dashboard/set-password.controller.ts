import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PasswordSetupLinks } from '@gatehouse/identity';
import { renderErrorPage, renderPasswordSetPage, renderSetPasswordPage, sendPage } from '../oauth/pages';
import { RateLimited } from '../oauth/rate-limit.guard';
import { DashboardSignIn } from './dashboard-sign-in';

const ACTION = '/admin/sign-in/set-password';
const INVALID_LINK =
  'This link can no longer be used: it was used already, it expired, or the membership it was made for has ended. Ask an administrator of your organization for a new one.';

// The one-time link a person added without a password opens (POST /api/v1/members shows it to the admin once). The
// form is bound to this browser like the sign-in pages' forms, so another site cannot post it.
@ApiExcludeController()
@Controller(ACTION)
export class SetPasswordController {
  constructor(
    private readonly signIn: DashboardSignIn,
    private readonly links: PasswordSetupLinks,
  ) {}

  @Get()
  @RateLimited('authorize')
  async page(@Query('token') token: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const text = typeof token === 'string' ? token : '';
    if (!(await this.links.valid(text))) return sendPage(response, 410, renderErrorPage('Link not valid', INVALID_LINK));
    sendPage(response, 200, this.form(this.signIn.binding(request, response), text));
  }

  @Post()
  @RateLimited('set-password')
  async submit(@Body() body: unknown, @Req() request: Request, @Res() response: Response): Promise<void> {
    const form = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const [token, password, confirm] = ['token', 'password', 'confirm'].map((field) => (typeof form[field] === 'string' ? (form[field] as string) : ''));
    if (!this.signIn.bound(request, form['csrf'])) {
      return sendPage(response, 403, renderErrorPage('Request refused', 'The form could not be verified (it may have come from another site, or the page is too old). Open the link again.'));
    }
    if (!(await this.links.valid(token!))) return sendPage(response, 410, renderErrorPage('Link not valid', INVALID_LINK));
    // Checked before the link is spent, so a mistyped password can be corrected with the same link.
    const problem = passwordProblem(password!, confirm!);
    if (problem) return sendPage(response, 400, this.form(form['csrf'] as string, token!, problem));
    const outcome = await this.links.use(token!, password!);
    if (outcome === 'invalid_link') return sendPage(response, 410, renderErrorPage('Link not valid', INVALID_LINK));
    if (outcome === 'password_exists') {
      return sendPage(response, 409, renderErrorPage('You already have a password', 'Your account already has a password, which this link does not change. Sign in with it.'));
    }
    sendPage(response, 200, renderPasswordSetPage('/admin/sign-in'));
  }

  private form(binding: string, token: string, error?: string): string {
    return renderSetPasswordPage({
      action: ACTION,
      hidden: { csrf: binding, token },
      minLength: PASSWORD_MIN_LENGTH,
      maxLength: PASSWORD_MAX_LENGTH,
      ...(error ? { error } : {}),
    });
  }
}

function passwordProblem(password: string, confirm: string): string | null {
  if ([...password].length < PASSWORD_MIN_LENGTH) return `Choose a password of at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Choose a password of at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (password !== confirm) return 'The two passwords differ. Type the same password twice.';
  return null;
}
