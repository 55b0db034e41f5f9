#!/usr/bin/env node
// Starts a local Gatehouse with the demo configuration (demo/gatehouse.yaml): checks PostgreSQL and Redis,
// creates the database, starts server-everything over streamable HTTP, starts the gateway, waits until both
// demo connections are connected and prints how to reach it. Ctrl-C stops everything it started.
// Usage: npm run demo (builds first), or node scripts/demo.mjs after npm run build.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import pg from 'pg';

const ROOT = join(import.meta.dirname, '..');
const GATEWAY_ENTRY = join(ROOT, 'dist', 'apps', 'gateway', 'src', 'main.js');
const EVERYTHING_ENTRY = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const DEMO_CONFIG = 'demo/gatehouse.yaml';
const DEMO_CONNECTIONS = ['everything', 'everything-http'];
// A fixed, public demo key so the Quickstart needs no setup. It is in this file, so it is not a secret:
// the demo binds to 127.0.0.1 unless HOST says otherwise. Set GATEHOUSE_DEMO_KEY to use your own.
const DEFAULT_DEMO_KEY = 'ghk_demo_local_only_not_a_secret';
// The same for the demo admin's password, for signing in when an OAuth client (Claude, ChatGPT, the Inspector) connects.
const DEFAULT_DEMO_PASSWORD = 'demo-password-local-only';
const CHECK_TIMEOUT_MS = 3_000;
const EVERYTHING_START_TIMEOUT_MS = 20_000;
const GATEWAY_READY_TIMEOUT_MS = 120_000;

const env = process.env;
const settings = {
  databaseUrl: env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/gatehouse',
  redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
  host: env.HOST || '127.0.0.1',
  port: env.PORT || '3000',
  everythingPort: env.DEMO_EVERYTHING_PORT || '3001',
  demoKey: env.GATEHOUSE_DEMO_KEY || DEFAULT_DEMO_KEY,
  demoPassword: env.GATEHOUSE_DEMO_PASSWORD || DEFAULT_DEMO_PASSWORD,
  graceMs: Number(env.GATEHOUSE_SHUTDOWN_GRACE_MS ?? 10_000) || 10_000,
};
const usingDefaultKey = !env.GATEHOUSE_DEMO_KEY;
const localHost = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
const hostForUrl = localHost.includes(':') ? `[${localHost}]` : localHost;
const publicUrl = (env.PUBLIC_URL || `http://${hostForUrl}:${settings.port}`).replace(/\/+$/, '');
const probeBase = `http://${hostForUrl}:${settings.port}`;

function say(line) {
  process.stdout.write(`demo: ${line}\n`);
}

/** One line on stderr, then exit 1, after stopping whatever was already started. */
async function fail(line) {
  process.stderr.write(`demo: ${line}\n`);
  await stopAll('SIGTERM');
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------- checks

function hostPort(url, defaultPort) {
  const parsed = new URL(url);
  return `${parsed.hostname || '127.0.0.1'}:${parsed.port || defaultPort}`;
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

function isNetworkError(error) {
  return NETWORK_ERRORS.has(error?.code) || /timeout|timed out|ECONNREFUSED/i.test(String(error?.message));
}

function reasonOf(error) {
  return error?.code && !/^\d/.test(error.code) ? error.code : String(error?.message ?? error).split('\n')[0];
}

async function withPg(url, run) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await run(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Connects to the demo database, creating it (from the "postgres" database) when it does not exist yet. */
async function checkPostgres() {
  const url = new URL(settings.databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  try {
    await withPg(settings.databaseUrl, (client) => client.query('SELECT 1'));
    return { ok: true };
  } catch (error) {
    if (error?.code !== '3D000' || !database) return { ok: false, error };
  }
  // 3D000: the server answers but the database does not exist.
  const adminUrl = new URL(settings.databaseUrl);
  adminUrl.pathname = '/postgres';
  try {
    await withPg(adminUrl.toString(), (client) => client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`));
    say(`created database "${database}"`);
    return { ok: true };
  } catch (error) {
    if (error?.code === '42P04') return { ok: true }; // created concurrently
    return { ok: false, error, creating: database };
  }
}

async function checkRedis() {
  const redis = new Redis(settings.redisUrl, {
    lazyConnect: true,
    connectTimeout: CHECK_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // With retries off, connect() rejects with "Connection is closed."; the socket's error says why.
  let socketError = null;
  redis.on('error', (error) => (socketError ??= error));
  try {
    await redis.connect();
    await redis.ping();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: socketError ?? error };
  } finally {
    redis.disconnect();
  }
}

/** true when nothing listens on the port (checked on the wildcard address server-everything binds to). */
function portFree(port, host) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error) => {
      if (error.code === 'EAFNOSUPPORT' && host === '::') resolve(portFree(port, '0.0.0.0'));
      else resolve(error.code !== 'EADDRINUSE' && error.code !== 'EACCES');
    });
    server.listen({ port: Number(port), host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function preflight() {
  if (!existsSync(GATEWAY_ENTRY)) await fail('the gateway is not built: run "npm run demo" (or "npm run build" first)');
  if (!existsSync(EVERYTHING_ENTRY)) {
    await fail('@modelcontextprotocol/server-everything is not installed: run "npm install" (it is a dev dependency)');
  }
  if (settings.demoKey.length < 16) await fail('GATEHOUSE_DEMO_KEY must hold at least 16 characters');
  if (settings.demoPassword.length < 12) await fail('GATEHOUSE_DEMO_PASSWORD must hold at least 12 characters');
  if (!/^postgres(ql)?:\/\//.test(settings.databaseUrl) || !URL.canParse(settings.databaseUrl)) {
    await fail('DATABASE_URL must be a postgresql:// URL');
  }
  if (!/^rediss?:\/\//.test(settings.redisUrl) || !URL.canParse(settings.redisUrl)) {
    await fail('REDIS_URL must be a redis:// or rediss:// URL');
  }
  for (const [name, value] of [['PORT', settings.port], ['DEMO_EVERYTHING_PORT', settings.everythingPort]]) {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) await fail(`${name} must be a port number (got "${value}")`);
  }
  if (settings.port === settings.everythingPort) await fail('PORT and DEMO_EVERYTHING_PORT must differ');

  const [postgres, redis] = await Promise.all([checkPostgres(), checkRedis()]);
  const pgWhere = hostPort(settings.databaseUrl, 5432);
  const redisWhere = hostPort(settings.redisUrl, 6379);
  const pgDown = !postgres.ok && isNetworkError(postgres.error);
  const redisDown = !redis.ok && isNetworkError(redis.error);
  if (pgDown && redisDown) {
    await fail(
      `PostgreSQL (${pgWhere}, ${reasonOf(postgres.error)}) and Redis (${redisWhere}, ${reasonOf(redis.error)}) are not answering: ` +
        'start them (Debian: sudo apt-get install postgresql redis-server; or: docker compose up -d), or set DATABASE_URL and REDIS_URL',
    );
  }
  if (pgDown) {
    await fail(
      `PostgreSQL is not answering at ${pgWhere} (${reasonOf(postgres.error)}): start it ` +
        '(Debian: sudo apt-get install postgresql; or: docker compose up -d postgres), or set DATABASE_URL',
    );
  }
  if (!postgres.ok) {
    const what = postgres.creating ? `could not create database "${postgres.creating}"` : 'refused the connection';
    // A stock Debian PostgreSQL wants a password on TCP: the default URL has none.
    const hint = /password|28P01|28000/i.test(`${postgres.error?.code} ${postgres.error?.message}`)
      ? 'put a user and password in DATABASE_URL (see README, Prerequisites)'
      : 'fix DATABASE_URL';
    await fail(`PostgreSQL at ${pgWhere} ${what} (${reasonOf(postgres.error)}): ${hint}`);
  }
  if (redisDown) {
    await fail(
      `Redis is not answering at ${redisWhere} (${reasonOf(redis.error)}): start it ` +
        '(Debian: sudo apt-get install redis-server; or: docker compose up -d redis), or set REDIS_URL',
    );
  }
  if (!redis.ok) await fail(`Redis at ${redisWhere} answered with an error (${reasonOf(redis.error)}): fix REDIS_URL`);

  if (!(await portFree(settings.everythingPort, '::'))) {
    await fail(`port ${settings.everythingPort} is in use: set DEMO_EVERYTHING_PORT to a free port`);
  }
  if (!(await portFree(settings.port, settings.host))) await fail(`port ${settings.port} is in use: set PORT to a free port`);
}

// -------------------------------------------------------------------------------------------- children

const children = { everything: null, gateway: null };
let stopping = false;

function alive(child) {
  return child && child.exitCode === null && child.signalCode === null;
}

function exited(child) {
  return alive(child) ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve();
}

/** SIGKILL to a child's whole process group: the gateway's own stdio servers live in the gateway's group. */
function killGroup(child) {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone
  }
}

/** Never settles: for paths where a signal or exit handler has taken over and will exit the process. */
const handedOver = () => new Promise(() => undefined);

// Each child gets its own process group (detached), so a terminal's Ctrl-C reaches only this script, which
// then stops the gateway first (it drains in-flight calls) and the server it talks to afterwards.
async function stop(child, signal, graceMs) {
  if (!alive(child)) return;
  child.kill(signal);
  const done = await Promise.race([exited(child).then(() => true), sleep(graceMs).then(() => false)]);
  if (!done && alive(child)) child.kill('SIGKILL');
  await exited(child);
  killGroup(child); // anything it left behind
}

async function stopAll(signal) {
  stopping = true;
  await stop(children.gateway, signal, settings.graceMs + 10_000);
  await stop(children.everything, signal, 5_000);
}

function startEverything() {
  const child = spawn(process.execPath, [EVERYTHING_ENTRY, 'streamableHttp'], {
    cwd: ROOT,
    // Not this shell's environment: server-everything has a get-env tool, and its callers need not see
    // DATABASE_URL, the demo key or whatever else is exported here.
    env: { PATH: env.PATH ?? '', PORT: settings.everythingPort },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // server-everything logs every request on stdout; keep the last lines for a failure, show only errors.
  const recent = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      recent.push(line);
      if (recent.length > 20) recent.shift();
      if (/error|fail/i.test(line)) process.stderr.write(`everything-http | ${line}\n`);
    });
  }
  child.recent = recent;
  child.on('exit', (code, signal) => {
    if (!stopping && children.gateway) {
      say(`server-everything (streamable HTTP) exited (${signal ?? `code ${code}`}); the everything-http connection is down`);
    }
  });
  return child;
}

async function waitForEverything(child) {
  const deadline = Date.now() + EVERYTHING_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (stopping) return handedOver();
    if (!alive(child)) {
      await fail(`server-everything did not start: ${child.recent.at(-1) ?? `exit code ${child.exitCode}`}`);
    }
    try {
      await fetch(`http://127.0.0.1:${settings.everythingPort}/mcp`, { signal: AbortSignal.timeout(1_000) });
      return; // any HTTP answer means it is listening
    } catch {
      await sleep(200);
    }
  }
  await fail(`server-everything did not answer on port ${settings.everythingPort} within ${EVERYTHING_START_TIMEOUT_MS / 1000} s`);
}

function startGateway() {
  const child = spawn(process.execPath, [GATEWAY_ENTRY], {
    cwd: ROOT,
    env: {
      ...env,
      GATEHOUSE_CONFIG: DEMO_CONFIG,
      HOST: settings.host,
      PORT: settings.port,
      PUBLIC_URL: publicUrl,
      DATABASE_URL: settings.databaseUrl,
      REDIS_URL: settings.redisUrl,
      GATEHOUSE_DEMO_KEY: settings.demoKey,
      GATEHOUSE_DEMO_PASSWORD: settings.demoPassword,
      DEMO_EVERYTHING_PORT: settings.everythingPort,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  child.on('exit', async (code, signal) => {
    const status = code ?? (signal ? 1 : 0);
    if (!stopping) {
      // The gateway already printed why (start-up errors are one line).
      stopping = true;
      killGroup(child);
      say(`the gateway exited (${signal ?? `code ${code}`}); stopping server-everything`);
      await stop(children.everything, 'SIGTERM', 5_000);
      process.exit(status);
    }
  });
  return child;
}

/** Resolves with /readyz once both demo connections are connected with their tools listed, or null after the timeout. */
async function waitForReady(child) {
  const deadline = Date.now() + GATEWAY_READY_TIMEOUT_MS;
  let last = null;
  while (Date.now() < deadline) {
    if (!alive(child) || stopping) return handedOver(); // the exit or signal handler takes over
    try {
      const response = await fetch(`${probeBase}/readyz`, { signal: AbortSignal.timeout(3_000) });
      last = await response.json();
      const items = last?.connections?.items ?? [];
      const connected = DEMO_CONNECTIONS.every((name) => items.some((c) => c.name === name && c.state === 'connected' && c.tools > 0));
      if (response.ok && connected) return last;
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  const states = (last?.connections?.items ?? []).map((c) => `${c.name}=${c.state}`).join(', ') || 'no answer from /readyz';
  say(`gave up waiting for both demo connections after ${GATEWAY_READY_TIMEOUT_MS / 1000} s (${states}); the gateway keeps running`);
  return last;
}

function banner(ready) {
  const tools = Object.fromEntries((ready?.connections?.items ?? []).map((c) => [c.name, c]));
  const describe = (name, transport) => {
    const c = tools[name];
    return `${name} (${transport}): ${c ? `${c.state}, ${c.tools} tools` : 'not running'}`;
  };
  const key = settings.demoKey;
  const lines = [
    '',
    '──────────────────────────────────────────────────────────────────────────────',
    ' Gatehouse demo is running',
    '',
    ` MCP endpoint   ${publicUrl}/mcp   (Streamable HTTP)`,
    ` API key        ${key}${usingDefaultKey ? '   (fixed demo key: local use only)' : '   (from GATEHOUSE_DEMO_KEY)'}`,
    ` Dashboard      ${publicUrl}/admin   (sign in as below)`,
    ` Sign-in        admin@demo.test / ${settings.demoPassword}${env.GATEHOUSE_DEMO_PASSWORD ? '   (from GATEHOUSE_DEMO_PASSWORD)' : '   (demo password: local use only)'}`,
    ` Connections    ${describe('everything', 'stdio')}`,
    `                ${describe('everything-http', `streamable HTTP, port ${settings.everythingPort}`)}`,
    ` Admin API      ${publicUrl}/api/docs`,
    '',
    ' Try it:',
    `   curl -s -H 'Authorization: Bearer ${key}' ${publicUrl}/api/v1/connections/health`,
    '   npx @modelcontextprotocol/inspector   (needs Node 22.19+; transport "Streamable HTTP",',
    `     URL ${publicUrl}/mcp, header "Authorization: Bearer ${key}"; or no header: it signs in with OAuth)`,
    '',
    ' Ctrl-C stops the gateway and server-everything.',
    '──────────────────────────────────────────────────────────────────────────────',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

// ------------------------------------------------------------------------------------------------ main

// npm may forward the terminal's SIGINT that this process also received from the terminal itself, so a
// repeat within a moment is the same Ctrl-C; a later one means "stop now".
const REPEAT_WINDOW_MS = 1_500;
let firstSignalAt = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (firstSignalAt && Date.now() - firstSignalAt < REPEAT_WINDOW_MS) return;
    if (firstSignalAt) {
      // A second Ctrl-C: do not wait for the drain.
      for (const child of [children.gateway, children.everything]) killGroup(child);
      process.exit(130);
    }
    firstSignalAt = Date.now();
    const forwarded = signal === 'SIGHUP' ? 'SIGTERM' : signal;
    say(`${signal}: stopping (Ctrl-C again to stop at once)`);
    void stopAll(forwarded).then(() => process.exit(children.gateway?.exitCode ?? 0));
  });
}
// Last resort if this script dies on an error: never leave a child behind.
process.on('exit', () => {
  for (const child of [children.gateway, children.everything]) if (alive(child)) killGroup(child);
});

await preflight();
say(`starting server-everything (streamable HTTP) on port ${settings.everythingPort}`);
children.everything = startEverything();
await waitForEverything(children.everything);
if (stopping) await handedOver();
say(`starting the gateway on ${settings.host}:${settings.port} with ${DEMO_CONFIG}`);
children.gateway = startGateway();
const ready = await waitForReady(children.gateway);
banner(ready);
