import { html, SafeHtml } from './escape';

// Served under `default-src 'none'; style-src 'unsafe-inline'`: no scripts, fonts or external assets.
const styles = html`<style>
:root {
  color-scheme: light dark;
  --bg: #f6f8fa; --card: #fff; --text: #1f2328; --muted: #59636e; --border: #d1d9e0; --field: #818b98;
  --accent: #1f5fd1; --accent-hover: #1a4fb0; --link: #1f5fd1; --on-accent: #fff;
  --subtle: #f6f8fa; --notice: #eef4ff; --notice-border: #b6cdf7; --danger: #b42318; --danger-bg: #fef3f2; --danger-border: #f5c2bd;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --card: #151b23; --text: #e6edf3; --muted: #9198a1; --border: #3d444d; --field: #7d8590;
    --accent: #2563d9; --accent-hover: #1f55c0; --link: #5a9bff;
    --subtle: #1c232c; --notice: #0f2142; --notice-border: #1f3f77; --danger: #ffa198; --danger-bg: #2d1517; --danger-border: #6e2a27;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
main { min-height: 100vh; display: flex; align-items: center; justify-content: center; padding: 2rem 1rem; }
.card {
  width: 100%; max-width: 26rem; padding: 2rem; overflow-wrap: anywhere;
  background: var(--card); border: 1px solid var(--border); border-radius: 0.75rem;
  box-shadow: 0 1px 3px rgb(0 0 0 / 0.06), 0 8px 24px rgb(0 0 0 / 0.04);
}
.brand { display: flex; align-items: center; gap: 0.5rem; margin-bottom: 1.5rem; font-weight: 600; font-size: 0.9375rem; color: var(--muted); }
.brand svg { color: var(--link); }
h1 { margin: 0 0 0.5rem; font-size: 1.375rem; line-height: 1.3; font-weight: 600; }
p { margin: 0 0 1rem; }
strong { font-weight: 600; }
a { color: var(--link); }
.muted { color: var(--muted); font-size: 0.875rem; }
form, .stack { display: grid; gap: 1rem; margin-top: 1.5rem; }
.field { display: grid; gap: 0.375rem; }
label { font-weight: 600; font-size: 0.875rem; }
input[type="email"], input[type="password"] {
  width: 100%; padding: 0.5625rem 0.75rem; font: inherit; color: inherit;
  background: var(--card); border: 1px solid var(--field); border-radius: 0.375rem;
}
button, .button {
  display: block; width: 100%; padding: 0.625rem 1rem; font: inherit; font-weight: 600; text-align: center; text-decoration: none;
  color: var(--on-accent); background: var(--accent); border: 1px solid var(--accent); border-radius: 0.375rem; cursor: pointer;
}
button:hover, .button:hover { background: var(--accent-hover); border-color: var(--accent-hover); }
.secondary { color: var(--text); background: var(--subtle); border-color: var(--field); }
.secondary:hover { background: var(--border); border-color: var(--field); }
:focus-visible { outline: 2px solid var(--link); outline-offset: 2px; }
input:focus-visible { outline-offset: 0; border-color: var(--link); }
.alert { margin: 1rem 0 0; padding: 0.75rem 1rem; color: var(--danger); background: var(--danger-bg); border: 1px solid var(--danger-border); border-radius: 0.375rem; }
.divider { display: flex; align-items: center; gap: 0.75rem; margin: 1.5rem 0 0; color: var(--muted); font-size: 0.875rem; }
.divider::before, .divider::after { content: ""; flex: 1; border-top: 1px solid var(--border); }
fieldset { margin: 0; padding: 0; border: 0; display: grid; gap: 0.5rem; min-width: 0; }
.option { display: flex; gap: 0.75rem; align-items: flex-start; padding: 0.75rem; font-weight: 400; border: 1px solid var(--border); border-radius: 0.5rem; cursor: pointer; }
.option:has(input:checked) { border-color: var(--link); background: var(--notice); }
.option input { margin: 0.25rem 0 0; accent-color: var(--accent); }
.option span { display: block; }
.option-name { font-weight: 600; font-size: 1rem; }
.option-meta { color: var(--muted); }
ul { margin: 0 0 1rem; padding-left: 1.25rem; }
li + li { margin-top: 0.375rem; }
.notice { margin: 0; padding: 0.75rem 1rem; background: var(--notice); border: 1px solid var(--notice-border); border-radius: 0.375rem; }
.notice strong { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9375rem; }
.actions { display: flex; gap: 0.75rem; }
.actions button { flex: 1; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (max-width: 30rem) { main { padding: 1rem 0.75rem; align-items: flex-start; } .card { padding: 1.5rem 1.25rem; } }
</style>`;

const wordmark = html`<header class="brand">
<svg width="20" height="20" viewBox="0 0 20 20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true" focusable="false"><path d="M3 18V9a7 7 0 0 1 14 0v9M7 18v-7M13 18v-7M2 18h16"/></svg>
<span>Gatehouse</span>
</header>`;

export function renderPage(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title} · Gatehouse</title>
${styles}
</head>
<body>
<main>
<div class="card">
${wordmark}
${body}
</div>
</main>
</body>
</html>
`.toString();
}

export function hiddenInputs(hidden: Record<string, string>): SafeHtml[] {
  return Object.entries(hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
}

export function signedInAs(email: string): SafeHtml {
  return html`<p class="muted">Signed in as <strong>${email}</strong></p>`;
}
