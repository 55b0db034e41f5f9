import { html } from './escape';
import { hiddenInputs, renderPage } from './layout';

interface SignInStep {
  action: string;
  hidden: Record<string, string>;
  clientName: string;
  email?: string;
  error?: string;
}

/** First the email alone: which identity providers to offer depends on its domain (home-realm discovery). */
export interface EmailStep extends SignInStep {
  step: 'email';
}

/** Then the password, below the identity providers that accept the email's domain, if any. */
export interface PasswordStep extends SignInStep {
  step: 'password';
  identityProviders: { label: string; href: string }[];
}

export type SignInPage = EmailStep | PasswordStep;

export function renderSignInPage(page: SignInPage): string {
  const asksEmail = page.step === 'email';
  const providers = asksEmail ? [] : page.identityProviders.map((provider) => html`<a class="button secondary" href="${provider.href}">Continue with ${provider.label}</a>`);
  return renderPage(
    'Sign in',
    html`<h1>Sign in to continue to ${page.clientName}</h1>
${page.error ? html`<p class="alert" role="alert">${page.error}</p>` : null}
${asksEmail ? html`<p class="muted" id="email-hint">Next, you sign in through your organization or with your password.</p>` : null}
${providers.length > 0 ? html`<div class="stack">${providers}</div><p class="divider">or</p>` : null}
<form method="post" action="${page.action}">
${hiddenInputs(page.hidden)}
<div class="field">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required${asksEmail ? html` aria-describedby="email-hint"` : null} value="${page.email ?? ''}">
</div>
${asksEmail ? html`<button type="submit">Continue</button>` : passwordField}
</form>`,
  );
}

const passwordField = html`<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
</div>
<button type="submit">Sign in</button>`;
