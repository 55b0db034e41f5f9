#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (node --cpu-prof) of the gateway.
//   owner:    each sample is charged to the nearest frame on its stack that belongs to a package (or to the
//             gateway's own code), so socket writes issued by pg count as pg, not as "node core";
//   function: self time per function;
//   inclusive: time with the function anywhere on the (synchronous) stack.
// Usage: node bench/lib/profile-summary.mjs file.cpuprofile [top] [skipSeconds]
// (skipSeconds leaves out start-up: module loading, Nest bootstrap.)
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

function packageOf(url) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1];
  if (url.includes('/dist/libs/') || url.includes('/dist/apps/')) return 'gatehouse';
  if (url.startsWith('wasm://')) return 'wasm';
  return null; // node core, native, anonymous VM code
}

function locationOf(url) {
  if (!url) return '(native)';
  const match = /node_modules\/(.*)$/.exec(url) ?? /\/dist\/(.*)$/.exec(url);
  return match ? match[1] : url.replace(/^file:\/\//, '');
}

export function summarizeProfile(path, { top = 20, skipMs = 0 } = {}) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map();
  let clock = 0;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    clock += delta;
    if (clock < skipMs * 1000) return;
    total += delta;
    self.set(id, (self.get(id) ?? 0) + delta);
  });

  const byOwner = new Map();
  const byFunction = new Map();
  const inclusive = new Map();
  let idle = 0;
  const add = (map, key, micros) => map.set(key, (map.get(key) ?? 0) + micros);
  for (const [id, micros] of self) {
    const { callFrame } = nodes.get(id);
    if (callFrame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    add(byFunction, `${callFrame.functionName || '(anonymous)'} ${locationOf(callFrame.url)}:${callFrame.lineNumber + 1}`, micros);
    let owner = SPECIAL.has(callFrame.functionName) ? callFrame.functionName : null;
    const seen = new Set();
    for (let cursor = id; cursor !== undefined; cursor = parent.get(cursor)) {
      const frame = nodes.get(cursor).callFrame;
      owner ??= packageOf(frame.url);
      const key = `${frame.functionName || '(anonymous)'} ${locationOf(frame.url)}:${frame.lineNumber + 1}`;
      if (!seen.has(key) && !SPECIAL.has(frame.functionName)) {
        seen.add(key);
        add(inclusive, key, micros);
      }
    }
    add(byOwner, owner ?? 'node core / native', micros);
  }
  const busy = total - idle;
  const rows = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, ms: Math.round(micros / 1000), pctOfBusy: Math.round((micros / busy) * 1000) / 10 }));
  return {
    windowMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    skippedMs: skipMs,
    byOwner: rows(byOwner),
    selfByFunction: rows(byFunction),
    inclusiveByFunction: rows(inclusive),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, top = '25', skip = '0'] = process.argv.slice(2);
  const summary = summarizeProfile(file, { top: Number(top), skipMs: Number(skip) * 1000 });
  console.log(`window ${summary.windowMs} ms (after skipping ${skip} s), busy ${summary.busyMs} ms`);
  for (const section of ['byOwner', 'selfByFunction', 'inclusiveByFunction']) {
    console.log(`\n${section}:`);
    for (const row of summary[section]) console.log(`  ${String(row.ms).padStart(7)} ms ${String(row.pctOfBusy).padStart(5)}%  ${row.name}`);
  }
}
