import { html } from './escape';
import { hiddenInputs, renderPage } from './layout';

export interface SetPasswordPage {
  action: string;
  hidden: Record<string, string>;
  minLength: number;
  maxLength: number;
  error?: string;
}

/** A new member chooses their password at the one-time link an admin passed on. */
export function renderSetPasswordPage(page: SetPasswordPage): string {
  return renderPage(
    'Choose your password',
    html`<h1>Choose your password</h1>
${page.error ? html`<p class="alert" role="alert">${page.error}</p>` : null}
<p class="muted" id="password-hint">At least ${page.minLength} characters. This link works once; afterwards you sign in with your email and this password.</p>
<form method="post" action="${page.action}">
${hiddenInputs(page.hidden)}
<div class="field">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="${page.minLength}" maxlength="${page.maxLength}" required aria-describedby="password-hint">
</div>
<div class="field">
<label for="confirm">Confirm password</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" minlength="${page.minLength}" maxlength="${page.maxLength}" required>
</div>
<button type="submit">Set password</button>
</form>`,
  );
}

/** The password is set: on to the ordinary sign-in. */
export function renderPasswordSetPage(signInHref: string): string {
  return renderPage(
    'Password set',
    html`<h1>Your password is set</h1>
<p>Sign in with your email and the password you just chose.</p>
<a class="button" href="${signInHref}">Sign in</a>`,
  );
}
