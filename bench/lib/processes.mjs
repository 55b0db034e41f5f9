// Child processes the bench starts (downstream servers, gateways), tracked so that cleanup can always reap them.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const children = new Set();
const CLOCK_TICKS = 100; // USER_HZ on Linux (getconf CLK_TCK)

/** user+system CPU time of any process so far, in ms (Linux /proc; null when unreadable or gone). */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Spawns `node args...`; keeps the last lines of its output for error messages (when `capture`),
 * otherwise discards it (server-everything logs every request to stdout).
 */
export function spawnNode(label, args, { env = {}, inheritEnv = true, cwd, capture = false, nodeOptions = [] } = {}) {
  const child = spawn(process.execPath, [...nodeOptions, ...args], {
    cwd,
    env: inheritEnv ? { ...process.env, ...env } : env,
    stdio: ['ignore', capture ? 'pipe' : 'ignore', capture ? 'pipe' : 'ignore'],
  });
  const lines = [];
  const keep = (chunk) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const handle = {
    label,
    child,
    pid: child.pid,
    exited,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    output: () => lines.join('\n'),
    /** user+system CPU time of the process so far, in ms (Linux /proc; null elsewhere). */
    cpuMs: () => processCpuMs(child.pid),
    /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
    async stop(graceMs = 8_000) {
      if (handle.running) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => handle.running && child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(handle);
    },
  };
  child.once('exit', () => children.delete(handle));
  children.add(handle);
  return handle;
}

/** Stops every child still running (used by the cleanup path, including on SIGINT). */
export async function stopAll() {
  await Promise.allSettled([...children].map((handle) => handle.stop(5_000)));
}

/** Last resort on a hard exit: no awaiting possible, so SIGKILL whatever is left. */
export function killAllNow() {
  for (const handle of children) if (handle.running) handle.child.kill('SIGKILL');
}

/** Polls `check` until it returns a truthy value; `fail` may throw to abort early (e.g. the process died). */
export async function waitFor(what, check, { timeoutMs = 60_000, intervalMs = 150, fail } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  while (Date.now() < deadline) {
    fail?.();
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
}

/** A TCP server that accepts connections, reads whatever arrives and never writes a byte. */
export async function startHangingServer() {
  const sockets = new Set();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    /** Connections accepted so far (the gateway retries with backoff, so this keeps growing). */
    accepted: () => accepted,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
