// The dashboard's first load, in real Chromium: the initial JavaScript (gzipped, what index.html loads before
// anything renders) and the time from navigation to a usable page (the approvals inbox, the overview) with an empty
// HTTP cache (a new browser context each time, already signed in: the session cookie is copied into it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { percentile } from './stats.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Bytes of the scripts index.html loads at once (module entry and its preloads), raw and gzipped. */
export function initialJavaScript(root) {
  const directory = join(root, 'dist', 'dashboard');
  const html = readFileSync(join(directory, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="\/admin\/(assets\/[^"]+\.js)"/g)].map((match) => match[1]);
  const sizes = files.map((file) => {
    const bytes = readFileSync(join(directory, file));
    return { file, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
  });
  return { files: sizes, bytes: sizes.reduce((sum, file) => sum + file.bytes, 0), gzipBytes: sizes.reduce((sum, file) => sum + file.gzipBytes, 0) };
}

export async function benchDashboardLoad({ baseUrl, organization, who, loads = 7 }) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const signIn = await browser.newContext();
    const page = await signIn.newPage();
    await page.goto(`${baseUrl}/admin/sign-in`);
    await page.getByLabel('Email').fill(who.email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Gatehouse', level: 1 }).waitFor();
    const cookies = await signIn.cookies();
    await signIn.close();

    // Usable: the page's data has answered. The inbox (everyone's first page) and the overview (admins' and
    // auditors' landing page, whose chart code is a chunk of its own).
    const pages = {
      inbox: { path: 'approvals', usable: (page) => page.getByText('Nothing waits for a decision.').or(page.getByRole('article').first()) },
      overview: { path: 'overview', usable: (page) => page.getByRole('table', { name: 'Calls per hour by outcome' }) },
    };
    const results = {};
    for (const [name, { path, usable }] of Object.entries(pages)) {
      const samples = [];
      for (let i = 0; i < loads; i++) {
        const context = await browser.newContext();
        await context.addCookies(cookies);
        const cold = await context.newPage();
        const started = performance.now();
        await cold.goto(`${baseUrl}/admin/o/${organization}/${path}`);
        await usable(cold).waitFor({ state: 'attached' });
        samples.push(performance.now() - started);
        await context.close();
      }
      const sorted = [...samples].sort((a, b) => a - b);
      results[name] = { loads, p50: percentile(sorted, 50), max: sorted.at(-1), samples: samples.map((ms) => Math.round(ms)) };
    }
    return results;
  } finally {
    await browser.close();
  }
}
