import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { UserRecord } from '@gatehouse/db';
import { AccountService, emailDomain, OidcSignInService, requestOrigin, SignInAudit, SignInThrottledError } from '@gatehouse/identity';
import { renderSignInPage, sendPage } from '../oauth/pages';

/** Where a sign-in is going, as its pages need it: the OAuth pages for an MCP client, or the dashboard. */
export interface SignInTarget {
  /** "Sign in to continue to …" */
  clientName: string;
  identifyAction: string;
  passwordAction: string;
  /** The hidden fields every step's form carries back (the pending request, its CSRF token). */
  hidden: Record<string, string>;
  /** Where "Continue with <provider>" goes. */
  ssoHref(providerId: string): string;
}

type Form = Record<string, unknown>;

// The steps of signing in, the same wherever they lead: the email first (home-realm discovery), then the
// organization's identity provider or a password. Throttled and audited (auth.sign_in) here, once.
@Injectable()
export class SignInSteps {
  constructor(
    private readonly accounts: AccountService,
    private readonly sso: OidcSignInService,
    private readonly signIns: SignInAudit,
  ) {}

  /** The email step, where every sign-in starts: no identity provider is named before the email is known. */
  emailPage(target: SignInTarget, email?: string, error?: string): string {
    return renderSignInPage({
      step: 'email',
      action: target.identifyAction,
      hidden: target.hidden,
      clientName: target.clientName,
      ...(email ? { email } : {}),
      ...(error ? { error } : {}),
    });
  }

  /** The email posted: off to the one identity provider the operator verified its domain for, else the password step. */
  async identify(target: SignInTarget, form: Form, response: Response): Promise<void> {
    const email = typeof form['email'] === 'string' ? form['email'].trim() : '';
    if (!emailDomain(email)) {
      sendPage(response, 400, this.emailPage(target, email, 'Enter your email address, such as name@example.com.'));
      return;
    }
    const discovery = await this.sso.discover(email);
    if (discovery.direct) return response.redirect(303, target.ssoHref(discovery.providers[0]!.id));
    sendPage(response, 200, await this.passwordPage(target, email));
  }

  /** The password posted: the person, or null once the page saying what went wrong has been sent. */
  async password(target: SignInTarget, form: Form, request: Request, response: Response): Promise<UserRecord | null> {
    const email = typeof form['email'] === 'string' ? form['email'] : '';
    const password = typeof form['password'] === 'string' ? form['password'] : '';
    const origin = requestOrigin(request);
    let user: UserRecord | null;
    try {
      user = email && password ? await this.accounts.signIn(email, password, { ip: request.ip }) : null;
    } catch (error) {
      if (!(error instanceof SignInThrottledError)) throw error;
      await this.signIns.failed(email, 'password', 'throttled', origin);
      response.setHeader('Retry-After', String(error.retryAfterSeconds));
      sendPage(response, 429, await this.passwordPage(target, email, error.message));
      return null;
    }
    if (!user) {
      await this.signIns.failed(email, 'password', email && password ? 'wrong_email_or_password' : 'missing_credentials', origin);
      sendPage(response, 401, await this.passwordPage(target, email, 'Wrong email or password.'));
      return null;
    }
    await this.signIns.succeeded(user, 'password', origin);
    return user;
  }

  /** The password step, below the identity providers that accept the email's domain (none is gone to directly). */
  private async passwordPage(target: SignInTarget, email: string, error?: string): Promise<string> {
    const { providers } = await this.sso.discover(email);
    return renderSignInPage({
      step: 'password',
      action: target.passwordAction,
      hidden: target.hidden,
      clientName: target.clientName,
      email,
      identityProviders: providers.map((provider) => ({ label: provider.label, href: target.ssoHref(provider.id) })),
      ...(error ? { error } : {}),
    });
  }
}
