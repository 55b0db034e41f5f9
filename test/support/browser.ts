// A browser without a browser: drives the gateway's server-rendered pages (sign-in, organisation choice,
// consent) over plain HTTP, the way a person would click through them on their way back to ChatGPT or Claude.
// No JavaScript, no CSS, no constraint validation: the pages must work as plain HTML forms.
import { HTMLElement, parse } from 'node-html-parser';
import { CookieJar, StoredCookie } from './cookie-jar';
import { NOT_SERIALIZED, buttonText, collapse, elements, inputType, isDisabled, isSubmitButton, optionValue, options, ownerForm, radioGroup, textOf, visibleText } from './html-form';

/** The flow left the gateway: a redirect to another origin (the OAuth client's redirect_uri), not fetched. */
export interface Redirected {
  kind: 'redirected';
  url: URL;
  /** The 3xx status that sent the browser away. */
  status: number;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string> | URLSearchParams;
  /** Any other body; set its Content-Type in `headers`. */
  body?: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
const NAVIGATION_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

export class TestBrowser {
  readonly gatewayOrigin: string;
  private readonly sites: Set<string>;
  private readonly jar = new CookieJar();

  /** Redirects are followed within the gateway and `otherSites` (an identity provider); any other target is returned. */
  constructor(gatewayOrigin: string, otherSites: string[] = []) {
    this.gatewayOrigin = new URL(gatewayOrigin).origin;
    this.sites = new Set([this.gatewayOrigin, ...otherSites.map((site) => new URL(site).origin)]);
  }

  /** A top-level navigation, as when ChatGPT sends the user to the authorization URL. */
  open(url: string | URL): Promise<BrowserPage | Redirected> {
    return this.navigate('GET', new URL(url), undefined, { 'Sec-Fetch-Site': 'cross-site' });
  }

  /** One request with the cookie jar, redirects not followed: for tests that forge or replay requests. */
  async request(method: string, url: string | URL, init: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    let body = init.body;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
    }
    return this.send(method, new URL(url), headers, body);
  }

  /** The live cookies stored for `url`'s origin. */
  cookies(url: string | URL): StoredCookie[] {
    return this.jar.list(new URL(url));
  }

  /** Forget every cookie, e.g. to play a second person in the same test. */
  clearCookies(): void {
    this.jar.clear();
  }

  /** @internal Used by BrowserPage to submit forms and follow links. */
  async navigate(
    method: string,
    url: URL,
    form: URLSearchParams | undefined,
    extraHeaders: Record<string, string>,
  ): Promise<BrowserPage | Redirected> {
    let body = form?.toString();
    let headers: Record<string, string> = { Accept: NAVIGATION_ACCEPT, 'Sec-Fetch-Dest': 'document', ...extraHeaders };
    if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    for (let hops = 0; ; hops++) {
      const response = await this.send(method, url, headers, body);
      const location = response.headers.get('location');
      if (REDIRECT_STATUSES.has(response.status) && location !== null) {
        await response.body?.cancel();
        if (hops >= MAX_REDIRECTS) throw new Error(`More than ${MAX_REDIRECTS} redirects, last to ${location}`);
        const next = new URL(location, url);
        if (!this.sites.has(next.origin)) return { kind: 'redirected', url: next, status: response.status };
        // Fetch standard: 303 always becomes a GET; 301/302 do for a POST; 307/308 repeat the request as it was.
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          headers = { ...headers };
          delete headers['Content-Type'];
          delete headers.Origin;
        }
        url = next;
        continue;
      }
      const html = await response.text();
      return new BrowserPage(this, url, response.status, response.headers, html);
    }
  }

  private async send(method: string, url: URL, headers: Record<string, string>, body: string | undefined): Promise<Response> {
    const cookie = this.jar.header(url);
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { ...headers, ...(cookie ? { Cookie: cookie } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    this.jar.store(url, response.headers.getSetCookie());
    return response;
  }
}

export class BrowserPage {
  readonly kind = 'page' as const;
  readonly document: HTMLElement;
  private readonly values = new Map<HTMLElement, string>();
  private readonly checked = new Map<HTMLElement, boolean>();
  private readonly overrides = new Map<string, string>();

  constructor(
    private readonly browser: TestBrowser,
    readonly url: URL,
    readonly status: number,
    readonly headers: Headers,
    readonly html: string,
  ) {
    // script/style stay raw text; everything else (pre, noscript) is parsed like a browser without JavaScript would.
    this.document = parse(html, { blockTextElements: { script: true, style: true } });
  }

  /** Types `value` into the field labelled `label`. */
  fill(label: string, value: string): this {
    const control = this.labelled(label);
    const tag = control.tagName.toLowerCase();
    const type = inputType(control);
    if (tag === 'input' && (type === 'checkbox' || type === 'radio')) {
      throw new Error(`"${label}" labels a ${type}: use check() ${this.where()}`);
    }
    if (tag === 'input' && NOT_SERIALIZED.has(type)) throw new Error(`"${label}" labels an input of type ${type} ${this.where()}`);
    if (!control.getAttribute('name')) throw new Error(`The field labelled "${label}" has no name, so it is never submitted ${this.where()}`);
    if (tag === 'select') {
      const option = options(control).find((candidate) => optionValue(candidate) === value || textOf(candidate) === value);
      if (!option) throw new Error(`"${label}" has no option "${value}" (options: ${options(control).map(textOf).join(', ')}) ${this.where()}`);
      this.values.set(control, optionValue(option));
    } else {
      this.values.set(control, value);
    }
    return this;
  }

  /** Ticks the checkbox, or picks the radio button, labelled `label`. */
  check(label: string): this {
    return this.setChecked(label, true);
  }

  uncheck(label: string): this {
    return this.setChecked(label, false);
  }

  /** Overrides what the form submits for `name` (hidden fields included), for tests that tamper with a form. */
  set(name: string, value: string): this {
    this.overrides.set(name, value);
    return this;
  }

  /** Presses the submit button showing `buttonText` and submits its form the way a browser does. */
  click(buttonText: string): Promise<BrowserPage | Redirected> {
    const { button, form } = this.submitter(buttonText);
    const { method, action } = this.submission(button, form);
    const data = this.formData(form, button);
    const headers: Record<string, string> = { 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-User': '?1', Referer: this.url.href };
    if (method === 'GET') {
      action.search = data.toString();
      action.hash = '';
      return this.browser.navigate('GET', action, undefined, headers);
    }
    return this.browser.navigate(method, action, data, { ...headers, Origin: this.url.origin });
  }

  /** Follows the link (`<a href>`) showing `linkText`. */
  follow(linkText: string): Promise<BrowserPage | Redirected> {
    const links = this.document.querySelectorAll('a').filter((link) => textOf(link) === linkText && link.hasAttribute('href'));
    if (links.length !== 1) {
      const all = this.document.querySelectorAll('a[href]').map((link) => `"${textOf(link)}"`);
      throw new Error(`${links.length ? 'Several links' : 'No link'} "${linkText}" (links: ${all.join(', ') || 'none'}) ${this.where()}`);
    }
    const href = new URL(links[0].getAttribute('href') ?? '', this.url);
    return this.browser.navigate('GET', href, undefined, { 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-User': '?1', Referer: this.url.href });
  }

  /** Where the form of the button `buttonText` would be submitted. */
  formAction(buttonText: string): string {
    const { button, form } = this.submitter(buttonText);
    return this.submission(button, form).action.href;
  }

  /** What the form of the button `buttonText` would submit, fills and checks included. */
  formValues(buttonText: string): URLSearchParams {
    const { button, form } = this.submitter(buttonText);
    return this.formData(form, button);
  }

  /** The visible text of the page, whitespace collapsed. */
  text(): string {
    return collapse(visibleText(this.document.querySelector('body') ?? this.document));
  }

  /** The first h1's text, or '' when there is none. */
  heading(): string {
    const h1 = this.document.querySelector('h1');
    return h1 ? textOf(h1) : '';
  }

  /** The text of the page's alerts ([role=alert]), or null when there are none or they are empty. */
  alert(): string | null {
    const text = this.document.querySelectorAll('[role=alert]').map(textOf).filter(Boolean).join(' ');
    return text || null;
  }

  /** The value of the hidden input named `name`. */
  hidden(name: string): string | undefined {
    const input = elements(this.document).find(
      (element) => element.tagName.toLowerCase() === 'input' && inputType(element) === 'hidden' && element.getAttribute('name') === name,
    );
    return input ? (input.getAttribute('value') ?? '') : undefined;
  }

  /** Every label text on the page, as fill() and check() know them. */
  labels(): string[] {
    return this.document.querySelectorAll('label').map(textOf);
  }

  /** Every submit button text on the page, as click() knows them. */
  buttons(): string[] {
    return elements(this.document).filter(isSubmitButton).map(buttonText);
  }

  /** One line for error messages: status, URL, heading, alert and the start of the text. */
  describe(): string {
    const alert = this.alert();
    const text = this.text();
    return `${this.status} ${this.url.href} — h1: "${this.heading()}"${alert ? ` — alert: "${alert}"` : ''} — text: "${text.length > 400 ? `${text.slice(0, 400)}…` : text}"`;
  }

  private where(): string {
    return `on ${this.url.href} (labels: ${this.labels().map((label) => `"${label}"`).join(', ') || 'none'})`;
  }

  private labelled(label: string): HTMLElement {
    const matches = this.document.querySelectorAll('label').filter((element) => textOf(element) === label);
    // aria-labelledby names a field as a browser's accessibility tree (and Playwright's getByLabel) does.
    const byAria = elements(this.document).filter((element) =>
      (element.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .some((id) => id && elements(this.document).some((named) => named.id === id && textOf(named) === label)),
    );
    if (matches.length === 0 && byAria.length === 1) return byAria[0]!;
    if (matches.length === 0) throw new Error(`No label "${label}" ${this.where()}`);
    if (matches.length > 1) throw new Error(`${matches.length} labels "${label}" ${this.where()}`);
    const found = matches[0];
    const target = found.getAttribute('for');
    if (target) {
      const control = elements(this.document).find((element) => element.id === target);
      if (!control) throw new Error(`Label "${label}" is for "#${target}", which is not on the page ${this.where()}`);
      return control;
    }
    const nested = found.querySelector('input, select, textarea');
    if (!nested) throw new Error(`Label "${label}" has no for= and no field inside it ${this.where()}`);
    return nested;
  }

  private setChecked(label: string, checked: boolean): this {
    const control = this.labelled(label);
    const type = inputType(control);
    if (control.tagName.toLowerCase() !== 'input' || (type !== 'checkbox' && type !== 'radio')) {
      throw new Error(`"${label}" labels no checkbox or radio button: use fill() ${this.where()}`);
    }
    if (type === 'radio') {
      if (!checked) throw new Error(`A radio button cannot be unchecked ("${label}")`);
      const form = ownerForm(control, this.document);
      for (const other of radioGroup(control, form, this.document)) this.checked.set(other, false);
    }
    this.checked.set(control, checked);
    return this;
  }

  private submitter(text: string): { button: HTMLElement; form: HTMLElement } {
    const buttons = elements(this.document).filter((element) => isSubmitButton(element) && buttonText(element) === text);
    if (buttons.length !== 1) {
      const all = this.buttons().map((label) => `"${label}"`).join(', ') || 'none';
      throw new Error(`${buttons.length ? `${buttons.length} buttons` : 'No button'} "${text}" on ${this.url.href} (buttons: ${all})`);
    }
    const form = ownerForm(buttons[0], this.document);
    if (!form) throw new Error(`Button "${text}" is not in a form on ${this.url.href}`);
    return { button: buttons[0], form };
  }

  private submission(button: HTMLElement, form: HTMLElement): { method: string; action: URL } {
    const enctype = (button.getAttribute('formenctype') ?? form.getAttribute('enctype') ?? '').toLowerCase();
    if (enctype && enctype !== 'application/x-www-form-urlencoded') throw new Error(`Forms of enctype ${enctype} are not supported`);
    const method = (button.getAttribute('formmethod') ?? form.getAttribute('method') ?? 'get').toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw new Error(`A form cannot be submitted with method ${method}`);
    const action = button.getAttribute('formaction') ?? form.getAttribute('action');
    return { method, action: new URL(action || this.url.href, this.url) };
  }

  // HTML "constructing the entry list", for the controls a server-rendered page uses.
  private formData(form: HTMLElement, submitter: HTMLElement): URLSearchParams {
    const data = new URLSearchParams();
    for (const control of elements(this.document)) {
      const tag = control.tagName.toLowerCase();
      if (tag !== 'input' && tag !== 'select' && tag !== 'textarea' && tag !== 'button') continue;
      if (ownerForm(control, this.document) !== form || isDisabled(control)) continue;
      const name = control.getAttribute('name');
      if (!name) continue;
      if (tag === 'button' || (tag === 'input' && NOT_SERIALIZED.has(inputType(control)))) {
        if (control === submitter) data.append(name, control.getAttribute('value') ?? '');
        continue;
      }
      for (const value of this.valuesOf(control)) data.append(name, value);
    }
    for (const [name, value] of this.overrides) data.set(name, value);
    return data;
  }

  private valuesOf(control: HTMLElement): string[] {
    const tag = control.tagName.toLowerCase();
    const filled = this.values.get(control);
    if (tag === 'select') {
      if (filled !== undefined) return [filled];
      const all = options(control).filter((option) => !option.hasAttribute('disabled'));
      const selected = all.filter((option) => option.hasAttribute('selected'));
      if (control.hasAttribute('multiple')) return selected.map(optionValue);
      const chosen = selected.at(-1) ?? all[0];
      return chosen ? [optionValue(chosen)] : [];
    }
    if (tag === 'textarea') return [filled ?? control.text.replace(/^\r?\n/, '')];
    const type = inputType(control);
    if (type === 'checkbox' || type === 'radio') {
      const checked = this.checked.get(control) ?? control.hasAttribute('checked');
      return checked ? [control.getAttribute('value') ?? 'on'] : [];
    }
    return [filled ?? control.getAttribute('value') ?? ''];
  }
}
