#!/usr/bin/env node
// A/B of two gateway builds on the same downstream, in interleaved rounds (`npm run bench:ab -- <git ref>`): the
// working tree's build (B, `npm run build` first) against a build of <ref> (A) made in a temporary git worktree. On a
// shared machine two separate `npm run bench` runs differ by more than most changes do (±10–20% in CPU per call);
// rounds that alternate A and B see the same noise. Prints, per concurrency: throughput, p50 and the CPU per call of
// each gateway process and of its PostgreSQL backends. Not a substitute for `npm run bench` (no direct side, no peer).
//
// Knobs (environment): AB_LEVELS=16,1  AB_ROUNDS=6  AB_ROUND_MS=3000  AB_WARMUP_MS=20000 (at c=8, each side)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createDatabase, deleteRedisPrefix, dropDatabase, openBackendMeter, runName } from '../bench/lib/infra.mjs';
import { organizationYaml, startGateway } from '../bench/lib/gateway.mjs';
import { closeClients, connectClients, echoCall, hideSdkListenerWarnings, startDownstream } from '../bench/lib/mcp.mjs';
import { levelsEnv, numberEnv } from '../bench/lib/knobs.mjs';
import { killAllNow, stopAll } from '../bench/lib/processes.mjs';
import { BENCH_LIMITS } from '../bench/lib/limits.mjs';
import { mergeRuns, runLoad, summarize } from '../bench/lib/stats.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const ref = process.argv[2];
if (!ref) {
  console.error('usage: npm run bench:ab -- <git ref to compare the working tree with>');
  process.exit(2);
}
const LEVELS = levelsEnv('AB_LEVELS', '16,1');
const ROUNDS = numberEnv('AB_ROUNDS', 6);
const ROUND_MS = numberEnv('AB_ROUND_MS', 3_000);
const WARMUP_MS = numberEnv('AB_WARMUP_MS', 20_000);
const log = (message) => console.log(`[bench:ab] ${message}`);
hideSdkListenerWarnings();
// Quiet unless it fails (the error carries what it printed).
const run = (command, args, cwd) => execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

// A: <ref> built in a worktree of its own, with this checkout's dependencies.
const worktree = mkdtempSync(join(os.tmpdir(), 'gatehouse-ab-'));
// Undone last registered first.
const cleanups = [() => run('git', ['worktree', 'prune'], ROOT), () => rmSync(worktree, { recursive: true, force: true })];
process.once('exit', killAllNow);

try {
  run('git', ['worktree', 'add', '--detach', worktree, ref], ROOT);
  symlinkSync(join(ROOT, 'node_modules'), join(worktree, 'node_modules'));
  log(`building ${ref} in ${worktree}`);
  run(process.execPath, [join(ROOT, 'node_modules', 'prisma', 'build', 'index.js'), 'generate'], worktree);
  run(process.execPath, [join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build', 'gateway'], worktree);

  const downstream = await startDownstream(ROOT, 'everything');
  cleanups.push(() => stopAll());
  const workDir = mkdtempSync(join(os.tmpdir(), 'gatehouse-ab-run-'));
  cleanups.push(() => rmSync(workDir, { recursive: true, force: true }));
  const sides = [];
  for (const [label, root] of [
    [`A (${ref})`, worktree],
    ['B (working tree)', ROOT],
  ]) {
    const name = `${runName()}_${sides.length ? 'b' : 'a'}`;
    const databaseUrl = await createDatabase(name);
    cleanups.push(() => dropDatabase(name), () => deleteRedisPrefix(name));
    const key = `ghk_bench_${randomBytes(24).toString('base64url')}`;
    const yaml = [
      `platform: ${JSON.stringify({ limits: BENCH_LIMITS, egress: { allow: ['127.0.0.1'] } })}`,
      'organizations:',
      ...organizationYaml('bench', 'GATEHOUSE_BENCH_KEY', [{ name: 'ds-01', url: downstream.url }], { maxConcurrency: 64 }),
      '',
    ].join('\n');
    const gateway = await startGateway({ root, label: sides.length ? 'b' : 'a', workDir, yaml, vars: { GATEHOUSE_BENCH_KEY: key }, databaseUrl, redisPrefix: name, expect: { total: 1, connected: 1 } });
    cleanups.push(() => gateway.stop());
    const postgres = await openBackendMeter(name);
    const clients = await connectClients(gateway.mcpUrl, key, Math.max(...LEVELS, 8));
    cleanups.push(() => postgres.close(), () => closeClients(clients));
    const op = echoCall(label, 'ds-01_echo', downstream.spec);
    sides.push({ label, gateway, postgres, clients, op, runs: [], gatewayMs: 0, postgresMs: 0, commits: 0 });
  }
  log(`warming up: ${WARMUP_MS / 1000} s of calls at c=8 on each side`);
  for (const side of sides) await runLoad({ concurrency: 8, durationMs: WARMUP_MS, clients: side.clients, op: side.op });
  for (const concurrency of LEVELS) {
    for (const side of sides) await runLoad({ concurrency, durationMs: 1_000, clients: side.clients, op: side.op });
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 ? [...sides].reverse() : sides) {
        const gateway = side.gateway.cpuMs();
        const postgres = await side.postgres.cpuMs();
        const commits = await side.postgres.commits();
        side.runs.push(await runLoad({ concurrency, durationMs: ROUND_MS, clients: side.clients, op: side.op }));
        side.gatewayMs += side.gateway.cpuMs() - gateway;
        side.postgresMs += (await side.postgres.cpuMs()) - postgres;
        side.commits += (await side.postgres.commits()) - commits;
      }
    }
    for (const side of sides) {
      const merged = mergeRuns(side.runs.splice(0));
      const stats = summarize(merged.latencies, merged);
      const perCall = (ms) => `${Math.round((ms * 1000) / stats.count)} µs`;
      log(
        `c=${concurrency} ${side.label}: ${Math.round(stats.throughput)} calls/s, p50 ${stats.p50.toFixed(2)} ms, ` +
          `gateway ${perCall(side.gatewayMs)} and PostgreSQL ${perCall(side.postgresMs)} per call, ${(side.commits / stats.count).toFixed(2)} transactions per call, ${merged.errors} errors`,
      );
      side.gatewayMs = 0;
      side.postgresMs = 0;
      side.commits = 0;
    }
  }
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`[bench:ab] cleanup: ${error.message}`);
    }
  }
}
