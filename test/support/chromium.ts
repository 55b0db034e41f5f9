// Real Chromium for the dashboard's tests (Debian's /usr/bin/chromium, driven by playwright-core).
import AxeBuilder from '@axe-core/playwright';
import { Browser, chromium, Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Signs in on the dashboard's sign-in page (email, then password) and waits for the dashboard. */
export async function signInToDashboard(page: Page, baseUrl: string, who: { email: string; password: string }, path = '/admin/'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Gatehouse', level: 1 }).waitFor();
}

/** A page of its own (a new browser context: its own cookies), signed in to the dashboard at `path`. */
export async function openDashboard(browser: Browser, baseUrl: string, who: { email: string; password: string }, path = '/admin/'): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signInToDashboard(page, baseUrl, who, path);
  return page;
}

/** The serious and critical violations axe-core finds on the page as it is now, as "rule: target" lines. */
export async function violations(page: Page): Promise<string[]> {
  // Mid-transition (a dialog or notification fading in), colours are part transparent and their contrast is wrong.
  // A function, not a string (the dashboard's CSP forbids eval); the tests' TypeScript has no DOM types.
  await page.waitForFunction(() => (globalThis as unknown as { document: { getAnimations(): unknown[] } }).document.getAnimations().length === 0);
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .flatMap((violation) => violation.nodes.map((node) => `${violation.id}: ${node.target.join(' ')} (${violation.help})`));
}

/** The CSRF token of the page's session, as the dashboard sends it with every change. */
export async function csrfToken(page: Page): Promise<string> {
  const session = await page.context().request.get(new URL('/api/v1/session', page.url()).href);
  return ((await session.json()) as { csrfToken: string }).csrfToken;
}
