import { html } from './escape';
import { renderPage } from './layout';

export function renderErrorPage(title: string, message: string): string {
  return renderPage(
    title,
    html`<h1>${title}</h1>
<p>${message}</p>`,
  );
}
