import { html } from './escape';
import { hiddenInputs, renderPage, signedInAs } from './layout';

export interface ConsentPage {
  action: string;
  hidden: Record<string, string>;
  clientName: string;
  redirectHost: string;
  organizationName: string;
  userEmail: string;
  access: 'read_only' | 'read_write';
}

export function renderConsentPage(page: ConsentPage): string {
  const tools =
    page.access === 'read_write'
      ? html`Call the tools of <strong>${page.organizationName}</strong>, including tools that change data`
      : html`Call the read-only tools of <strong>${page.organizationName}</strong>`;
  return renderPage(
    'Approve access',
    html`<h1>${page.clientName} wants to access ${page.organizationName}</h1>
${signedInAs(page.userEmail)}
<p>It will be able to:</p>
<ul>
<li>${tools}</li>
<li>Act as <strong>${page.userEmail}</strong>, with your role in the organization</li>
</ul>
<p class="notice">After you approve, you will be sent to <strong>${page.redirectHost}</strong></p>
<form method="post" action="${page.action}">
${hiddenInputs(page.hidden)}
<div class="actions">
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
<button type="submit" name="decision" value="approve">Approve</button>
</div>
</form>`,
  );
}
