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
  /** The client asked for administration and the person is an admin: offered as a separate box, unticked. */
  offerAdministration: boolean;
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
${page.offerAdministration ? administration(page) : null}
<div class="actions">
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
<button type="submit" name="decision" value="approve">Approve</button>
</div>
</form>`,
  );
}

// Said in plain words, and only ever granted by ticking it: an assistant that reads instructions hidden in a tool
// result could otherwise change connections or approve calls in the person's name.
function administration(page: ConsentPage) {
  return html`<fieldset>
<legend>${page.clientName} also asks to administer ${page.organizationName}</legend>
<label class="option" for="administration">
<input type="checkbox" id="administration" name="administration" value="yes" aria-labelledby="administration-name" aria-describedby="administration-meta">
<span><span class="option-name" id="administration-name">Also let it administer ${page.organizationName} for you</span><span class="option-meta" id="administration-meta">Change its connections and policies, see its usage, and decide approval requests, with your admin role. Leave unticked unless you asked for this.</span></span>
</label>
</fieldset>`;
}
