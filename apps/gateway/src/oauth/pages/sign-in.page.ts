import { html } from './escape';
import { hiddenInputs, renderPage } from './layout';

export interface SignInPage {
  action: string;
  hidden: Record<string, string>;
  clientName: string;
  email?: string;
  error?: string;
  identityProviders: { label: string; href: string }[];
}

export function renderSignInPage(page: SignInPage): string {
  const providers = page.identityProviders.map(
    (provider) => html`<a class="button secondary" href="${provider.href}">Continue with ${provider.label}</a>`,
  );
  return renderPage(
    'Sign in',
    html`<h1>Sign in to continue to ${page.clientName}</h1>
${page.error ? html`<p class="alert" role="alert">${page.error}</p>` : null}
${providers.length > 0 ? html`<div class="stack">${providers}</div><p class="divider">or</p>` : null}
<form method="post" action="${page.action}">
${hiddenInputs(page.hidden)}
<div class="field">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${page.email ?? ''}">
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
</div>
<button type="submit">Sign in</button>
</form>`,
  );
}
