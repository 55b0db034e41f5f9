import { HTMLElement, parse } from 'node-html-parser';
import { html, SafeHtml } from './escape';
import {
  ConsentPage,
  EmailStep,
  OrganizationPage,
  PasswordStep,
  renderConsentPage,
  renderErrorPage,
  renderOrganizationPage,
  renderPage,
  renderSignInPage,
} from './index';

const EVIL = '<script>alert(1)</script>"';
const EVIL_ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;&quot;';
const HIDDEN = { state: '"><script>alert(2)</script>', redirect_uri: 'https://client.example/cb?a=1&b=2' };

const emailStep = (overrides: Partial<EmailStep> = {}): EmailStep => ({
  step: 'email',
  action: '/oauth/identify',
  hidden: HIDDEN,
  clientName: EVIL,
  ...overrides,
});

const passwordStep = (overrides: Partial<PasswordStep> = {}): PasswordStep => ({
  step: 'password',
  action: '/oauth/sign-in',
  hidden: HIDDEN,
  clientName: EVIL,
  email: 'bob@acme.test',
  identityProviders: [],
  ...overrides,
});

const organization = (overrides: Partial<OrganizationPage> = {}): OrganizationPage => ({
  action: '/oauth/authorize/organization',
  hidden: HIDDEN,
  clientName: EVIL,
  userEmail: 'alice@acme.test',
  organizations: [
    { id: 'org-1', name: 'Acme', slug: 'acme', role: 'owner' },
    { id: 'org-2', name: 'Globex', slug: 'globex', role: 'member' },
  ],
  ...overrides,
});

const consent = (overrides: Partial<ConsentPage> = {}): ConsentPage => ({
  action: '/oauth/authorize/consent',
  hidden: HIDDEN,
  clientName: EVIL,
  redirectHost: 'client.example',
  organizationName: 'Acme',
  userEmail: 'alice@acme.test',
  access: 'read_write',
  offerAdministration: false,
  ...overrides,
});

const pages: [string, () => string][] = [
  ['sign-in email', () => renderSignInPage(emailStep())],
  ['sign-in password', () => renderSignInPage(passwordStep({ identityProviders: [{ label: 'Acme', href: '/oauth/sso/1' }] }))],
  ['organization', () => renderOrganizationPage(organization())],
  ['consent', () => renderConsentPage(consent())],
  ['consent offering administration', () => renderConsentPage(consent({ offerAdministration: true }))],
  ['error', () => renderErrorPage(EVIL, EVIL)],
];
const formPages = pages.filter(([name]) => name !== 'error');

function only(root: HTMLElement, selector: string): HTMLElement {
  const matches = root.querySelectorAll(selector);
  expect(matches).toHaveLength(1);
  return matches[0]!;
}

describe('html', () => {
  it('escapes interpolated values but not nested html or arrays of it', () => {
    const items = ['a<b', 'c&d'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul title="${'"x"'}">${items}</ul>${'<i>'}`.toString()).toBe(
      '<ul title="&quot;x&quot;"><li>a&lt;b</li><li>c&amp;d</li></ul>&lt;i&gt;',
    );
  });

  it('renders null, undefined and false as nothing, numbers as text', () => {
    expect(html`${null}${undefined}${false}${0}`.toString()).toBe('0');
  });

  it('offers no way to mark a plain string as safe', () => {
    expect(() => Reflect.construct(SafeHtml, [Symbol('SafeHtml'), '<script>'])).toThrow(TypeError);
  });
});

describe('renderPage', () => {
  it('is a complete document without scripts or external assets', () => {
    const document = renderPage('Sign in', html`<p>Hello</p>`);
    expect(document.startsWith('<!doctype html>')).toBe(true);
    const root = parse(document);
    expect(only(root, 'html').getAttribute('lang')).toBe('en');
    expect(only(root, 'title').text).toBe('Sign in · Gatehouse');
    expect(root.querySelector('meta[charset]')).not.toBeNull();
    expect(root.querySelector('meta[name="viewport"]')).not.toBeNull();
    expect(root.querySelectorAll('style')).toHaveLength(1);
    expect(only(root, 'main').text).toContain('Gatehouse');
    expect(root.querySelectorAll('script, link, img, iframe, object')).toHaveLength(0);
    expect(document).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });
});

describe.each(pages)('%s page', (_name, render) => {
  it('escapes the untrusted client name', () => {
    const document = render();
    expect(document).toContain(EVIL_ESCAPED);
    expect(document).not.toContain('<script>');
    expect(parse(document).querySelectorAll('script')).toHaveLength(0);
  });
});

describe.each(formPages)('%s form', (_name, render) => {
  it('posts every hidden field with its value escaped', () => {
    const document = render();
    expect(document).toContain('value="&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"');
    expect(document).toContain('value="https://client.example/cb?a=1&amp;b=2"');
    const form = only(parse(document), 'form');
    expect(form.getAttribute('method')).toBe('post');
    const hidden = Object.fromEntries(
      form.querySelectorAll('input[type="hidden"]').map((input) => [input.getAttribute('name'), input.getAttribute('value')]),
    );
    expect(hidden).toEqual(HIDDEN);
  });
});

describe('renderSignInPage', () => {
  it.each([
    ['email', () => emailStep({ email: 'bob"@acme.test' }), '/oauth/identify', 'Continue'],
    ['password', () => passwordStep({ email: 'bob"@acme.test' }), '/oauth/sign-in', 'Sign in'],
  ] as const)('has on the %s step a heading, the Email field filled in and one submit button', (_step, page, action, buttonText) => {
    const root = parse(renderSignInPage(page()));
    expect(only(root, 'form').getAttribute('action')).toBe(action);
    expect(only(root, 'h1').text).toBe(`Sign in to continue to ${EVIL}`);
    expect(only(root, 'label[for="email"]').text).toBe('Email');
    const email = only(root, 'input#email');
    expect(email.attributes).toMatchObject({ name: 'email', type: 'email', autocomplete: 'username', value: 'bob"@acme.test' });
    expect(email.hasAttribute('required')).toBe(true);
    const button = only(root, 'button');
    expect(button.getAttribute('type')).toBe('submit');
    expect(button.text).toBe(buttonText);
  });

  it('asks for the email alone first, saying what comes next, and names no identity provider', () => {
    const root = parse(renderSignInPage(emailStep()));
    const email = only(root, 'input#email');
    expect(root.getElementById(email.getAttribute('aria-describedby')!)?.text).toBe('Next, you sign in through your organization or with your password.');
    expect(root.querySelectorAll('input[type="password"], a, .divider')).toHaveLength(0);
  });

  it('then asks for the password', () => {
    const root = parse(renderSignInPage(passwordStep()));
    expect(only(root, 'label[for="password"]').text).toBe('Password');
    const password = only(root, 'input#password');
    expect(password.attributes).toMatchObject({ name: 'password', type: 'password', autocomplete: 'current-password' });
    expect(password.hasAttribute('required')).toBe(true);
    expect(password.hasAttribute('value')).toBe(false);
  });

  it.each([
    ['email', () => emailStep({ error: `Wrong password for ${EVIL}` })],
    ['password', () => passwordStep({ error: `Wrong password for ${EVIL}` })],
  ] as const)('shows the error of the %s step as an alert above the form, escaped', (_step, page) => {
    const document = renderSignInPage(page());
    const alert = only(parse(document), '[role="alert"]');
    expect(alert.text).toBe(`Wrong password for ${EVIL}`);
    expect(document.indexOf('role="alert"')).toBeLessThan(document.indexOf('<form'));
  });

  it('shows no alert without an error', () => {
    expect(parse(renderSignInPage(emailStep())).querySelectorAll('[role="alert"]')).toHaveLength(0);
    expect(parse(renderSignInPage(passwordStep())).querySelectorAll('[role="alert"]')).toHaveLength(0);
  });

  it('offers the identity providers it is given above an "or" divider on the password step', () => {
    const document = renderSignInPage(
      passwordStep({
        identityProviders: [
          { label: 'Google', href: '/oauth/idp/google?state=a&b' },
          { label: EVIL, href: '/oauth/idp/evil' },
        ],
      }),
    );
    const root = parse(document);
    const links = root.querySelectorAll('a');
    expect(links.map((link) => [link.text, link.getAttribute('href')])).toEqual([
      ['Continue with Google', '/oauth/idp/google?state=a&b'],
      [`Continue with ${EVIL}`, '/oauth/idp/evil'],
    ]);
    expect(only(root, '.divider').text).toBe('or');
    expect(document.indexOf('Continue with Google')).toBeLessThan(document.indexOf('<form'));
  });

  it('has no divider without identity providers', () => {
    const root = parse(renderSignInPage(passwordStep()));
    expect(root.querySelectorAll('a, .divider')).toHaveLength(0);
  });
});

describe('renderOrganizationPage', () => {
  it('offers one radio per organization carrying its id, the first checked', () => {
    const root = parse(renderOrganizationPage(organization()));
    expect(only(root, 'h1').text).toBe('Choose an organization');
    expect(root.text).toContain('Signed in as alice@acme.test');
    expect(only(root, 'fieldset legend').text).toBe('Organization');

    const radios = root.querySelectorAll('fieldset input[type="radio"]');
    expect(radios.map((radio) => radio.getAttribute('name'))).toEqual(['organization', 'organization']);
    expect(radios.map((radio) => radio.getAttribute('value'))).toEqual(['org-1', 'org-2']);
    expect(radios.map((radio) => radio.hasAttribute('checked'))).toEqual([true, false]);

    const names = radios.map((radio) => root.getElementById(radio.getAttribute('aria-labelledby')!)?.text);
    expect(names).toEqual(['Acme', 'Globex']);
    const meta = radios.map((radio) => root.getElementById(radio.getAttribute('aria-describedby')!)?.text);
    expect(meta).toEqual(['acme · owner', 'globex · member']);
    expect(radios.map((radio) => radio.closest('label')?.getAttribute('for') === radio.id)).toEqual([true, true]);

    const button = only(root, 'button');
    expect(button.getAttribute('type')).toBe('submit');
    expect(button.text).toBe('Continue');
  });

  it('escapes organization names and ids', () => {
    const document = renderOrganizationPage(
      organization({ organizations: [{ id: '"><script>x</script>', name: EVIL, slug: EVIL, role: 'owner' }] }),
    );
    expect(document).not.toContain('<script>');
    expect(only(parse(document), 'input[type="radio"]').getAttribute('value')).toBe('"><script>x</script>');
  });
});

describe('renderConsentPage', () => {
  it('has Approve and Deny buttons deciding the one form', () => {
    const root = parse(renderConsentPage(consent()));
    const form = only(root, 'form');
    expect(form.getAttribute('action')).toBe('/oauth/authorize/consent');
    const approve = only(form, 'button[value="approve"]');
    const deny = only(form, 'button[value="deny"]');
    for (const [button, text] of [
      [approve, 'Approve'],
      [deny, 'Deny'],
    ] as const) {
      expect(button.attributes).toMatchObject({ type: 'submit', name: 'decision' });
      expect(button.text).toBe(text);
    }
    expect(deny.classList.contains('secondary')).toBe(true);
    expect(approve.classList.contains('secondary')).toBe(false);
  });

  it('says who asks for what, and where the browser goes next', () => {
    const root = parse(renderConsentPage(consent({ organizationName: 'Acme <Corp>' })));
    expect(only(root, 'h1').text).toBe(`${EVIL} wants to access Acme <Corp>`);
    expect(root.text).toContain('Signed in as alice@acme.test');
    expect(root.querySelectorAll('li').map((item) => item.text)).toEqual([
      'Call the tools of Acme <Corp>, including tools that change data',
      'Act as alice@acme.test, with your role in the organization',
    ]);
    expect(only(root, '.notice').text).toBe('After you approve, you will be sent to client.example');
  });

  it('describes read-only access', () => {
    const root = parse(renderConsentPage(consent({ access: 'read_only' })));
    expect(root.querySelectorAll('li')[0]!.text).toBe('Call the read-only tools of Acme');
  });

  it('offers administration only when asked to, in plain words, as a box left unticked', () => {
    expect(parse(renderConsentPage(consent())).querySelectorAll('input[type="checkbox"]')).toHaveLength(0);
    const root = parse(renderConsentPage(consent({ offerAdministration: true })));
    const box = only(root, 'input[type="checkbox"]');
    expect(box.attributes).toMatchObject({ name: 'administration', value: 'yes' });
    expect(box.hasAttribute('checked')).toBe(false);
    expect(only(root, 'legend').text).toBe(`${EVIL} also asks to administer Acme`);
    expect(only(root, `label[for="administration"]`).text).toContain('Change its connections and policies');
    expect(only(root, `label[for="administration"]`).text).toContain('decide approval requests');
    // Inside the form, so the decision carries it.
    expect(only(only(root, 'form'), 'input[type="checkbox"]')).toBeDefined();
  });
});

describe('renderErrorPage', () => {
  it('shows the title as heading and the message', () => {
    const root = parse(renderErrorPage('Invalid request', 'The redirect_uri is not registered for this client.'));
    expect(only(root, 'title').text).toBe('Invalid request · Gatehouse');
    expect(only(root, 'h1').text).toBe('Invalid request');
    expect(only(root, 'main p').text).toBe('The redirect_uri is not registered for this client.');
  });
});
