import { html } from './escape';
import { hiddenInputs, renderPage, signedInAs } from './layout';

export interface OrganizationPage {
  action: string;
  hidden: Record<string, string>;
  clientName: string;
  userEmail: string;
  organizations: { id: string; name: string; slug: string; role: string }[];
}

export function renderOrganizationPage(page: OrganizationPage): string {
  const options = page.organizations.map((organization, index) => {
    const id = `organization-${index}`;
    // The radio is named by the organization alone; slug and role are its description.
    return html`<label class="option" for="${id}">
<input type="radio" id="${id}" name="organization" value="${organization.id}" aria-labelledby="${id}-name" aria-describedby="${id}-meta"${index === 0 ? html` checked` : null}>
<span><span class="option-name" id="${id}-name">${organization.name}</span><span class="option-meta" id="${id}-meta">${organization.slug} · ${organization.role}</span></span>
</label>`;
  });
  const form =
    options.length > 0
      ? html`<form method="post" action="${page.action}">
${hiddenInputs(page.hidden)}
<fieldset>
<legend class="visually-hidden">Organization</legend>
${options}
</fieldset>
<button type="submit">Continue</button>
</form>`
      : html`<p class="alert" role="alert">You are not a member of any organization.</p>`;
  return renderPage(
    'Choose an organization',
    html`<h1>Choose an organization</h1>
${signedInAs(page.userEmail)}
<p>${page.clientName} will get access to the organization you choose.</p>
${form}`,
  );
}
