#!/usr/bin/env node
// The README's dashboard screenshots, taken from a running demo (npm run demo) in Chromium: the approvals inbox with
// a held call, a connection's page, the audit log, and the overview.
// Usage: node scripts/screenshots.mjs [base URL, default http://127.0.0.1:3000]; writes docs/images/dashboard-*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chromium } from 'playwright-core';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'docs', 'images');
const base = (process.argv[2] ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
const key = process.env.GATEHOUSE_DEMO_KEY ?? 'ghk_demo_local_only_not_a_secret';
const admin = { email: 'admin@demo.test', password: process.env.GATEHOUSE_DEMO_PASSWORD ?? 'demo-password-local-only' };

// Something to show: a few calls, and one the demo's policy holds for approval.
const client = new Client({ name: 'Claude', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
for (const text of ['hello', 'from the demo']) await client.callTool({ name: 'everything_echo', arguments: { message: text } });
await client.callTool({ name: 'everything-http_get-sum', arguments: { a: 2, b: 3 } });
await client.callTool({ name: 'everything-http_get-env', arguments: {} });
await client.close();

mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 })).newPage();
  await page.goto(`${base}/admin/sign-in`);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Gatehouse', level: 1 }).waitFor();

  const shoot = async (name) => {
    await page.waitForFunction(() => document.getAnimations().length === 0);
    await page.screenshot({ path: join(OUT, `dashboard-${name}.png`) });
    process.stdout.write(`screenshots: docs/images/dashboard-${name}.png\n`);
  };

  await page.goto(`${base}/admin/o/demo/approvals`);
  await page.getByRole('article').first().waitFor();
  await shoot('inbox');

  await page.goto(`${base}/admin/o/demo/connections`);
  await page.getByRole('link', { name: 'everything-http' }).click();
  await page.getByRole('table').first().waitFor();
  await shoot('connection');

  await page.goto(`${base}/admin/o/demo/audit`);
  await page.getByRole('table', { name: 'Audit records' }).waitFor();
  await shoot('audit');

  await page.goto(`${base}/admin/o/demo/overview`);
  await page.getByRole('table', { name: 'Calls per hour by outcome' }).waitFor({ state: 'attached' });
  await shoot('overview');
} finally {
  await browser.close();
}
