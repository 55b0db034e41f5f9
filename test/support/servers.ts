import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait';

export const ROOT = join(__dirname, '..', '..');
export const EVERYTHING = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
export const FIXTURE_SERVER = join(ROOT, 'test', 'fixtures', 'fixture-server.mjs');
export const HOSTILE_SERVER = join(ROOT, 'test', 'fixtures', 'hostile-server.mjs');
export const CONTENT_SERVER = join(ROOT, 'test', 'fixtures', 'content-server.mjs');
export const OLD_PROTOCOL_SERVER = join(ROOT, 'test', 'fixtures', 'old-protocol-server.mjs');
export const CONFORMANCE_SERVER = join(ROOT, 'test', 'fixtures', 'conformance-server.mjs');
export const RELAY_SERVER = join(ROOT, 'test', 'fixtures', 'relay-server.mjs');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningServer {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startHttp(args: string[], env: Record<string, string>, path: string): Promise<RunningServer> {
  const port = await freePort();
  // A minimal environment: server-everything's get-env tool would otherwise expose the test's.
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) }, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}${path}`;
  await waitFor(`MCP server on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const response = await fetch(url, { method: 'GET', headers: { Accept: 'text/event-stream' } }).catch(() => null);
    if (response) await response.body?.cancel();
    return response !== null;
  });
  return {
    url,
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** @modelcontextprotocol/server-everything over streamable HTTP. */
export function startEverythingHttp(): Promise<RunningServer> {
  return startHttp([EVERYTHING, 'streamableHttp'], {}, '/mcp');
}

/** server-everything over the legacy HTTP+SSE transport (endpoint /sse). */
export function startEverythingSse(): Promise<RunningServer> {
  return startHttp([EVERYTHING, 'sse'], {}, '/sse');
}

/** test/fixtures/fixture-server.mjs over streamable HTTP (an SDK server with fault-injection tools). */
export function startFixtureHttp(env: Record<string, string> = {}): Promise<RunningServer> {
  return startHttp([FIXTURE_SERVER, 'http'], env, '/mcp');
}

/** test/fixtures/relay-server.mjs (tools that elicit, sample and log during their call) over streamable HTTP. */
export function startRelayHttp(): Promise<RunningServer> {
  return startHttp([RELAY_SERVER, 'http'], {}, '/mcp');
}

/** Connection YAML for test/fixtures/relay-server.mjs as a stdio child process. */
export function relayStdioYaml(name: string, extra = ''): string {
  return nodeStdioYaml(RELAY_SERVER, name, {}, extra);
}

/** test/fixtures/content-server.mjs (prompts, resources, a template, subscriptions) over streamable HTTP. */
export function startContentHttp(env: Record<string, string> = {}): Promise<RunningServer> {
  return startHttp([CONTENT_SERVER, 'http'], env, '/mcp');
}

/** Connection YAML for test/fixtures/content-server.mjs as a stdio child process. */
export function contentStdioYaml(name: string, env: Record<string, string> = {}, extra = ''): string {
  return nodeStdioYaml(CONTENT_SERVER, name, env, extra);
}

/** test/fixtures/hostile-server.mjs (huge replies, endless progress) over streamable HTTP (/mcp) or legacy SSE (/sse). */
export function startHostileHttp(transport: 'http' | 'sse'): Promise<RunningServer> {
  return startHttp([HOSTILE_SERVER, transport], {}, transport === 'http' ? '/mcp' : '/sse');
}

/** test/fixtures/old-protocol-server.mjs (an SDK server that answers initialize with `version`) over legacy SSE (/sse). */
export function startOldProtocolSse(version: string): Promise<RunningServer> {
  return startHttp([OLD_PROTOCOL_SERVER, 'sse'], { PROTOCOL_VERSION: version }, '/sse');
}

/** test/fixtures/old-protocol-server.mjs over streamable HTTP (/mcp), refusing any other MCP-Protocol-Version header. */
export function startOldProtocolHttp(version: string): Promise<RunningServer> {
  return startHttp([OLD_PROTOCOL_SERVER, 'http'], { PROTOCOL_VERSION: version }, '/mcp');
}

/** test/fixtures/conformance-server.mjs (what the MCP conformance suite calls) over streamable HTTP; API_TOKEN to require a bearer. */
export function startConformanceHttp(env: Record<string, string> = {}): Promise<RunningServer> {
  return startHttp([CONFORMANCE_SERVER, 'http'], env, '/mcp');
}

/** Connection YAML for test/fixtures/conformance-server.mjs as a stdio child process. */
export function conformanceStdioYaml(name: string): string {
  return nodeStdioYaml(CONFORMANCE_SERVER, name, {}, '');
}

/** Connection YAML for test/fixtures/old-protocol-server.mjs as a stdio child process speaking `version`. */
export function oldProtocolStdioYaml(name: string, version: string): string {
  return nodeStdioYaml(OLD_PROTOCOL_SERVER, name, { PROTOCOL_VERSION: version }, '');
}

/** Connection YAML for server-everything as a stdio child process. */
export function everythingStdioYaml(name: string): string {
  return nodeStdioYaml(EVERYTHING, name, {}, '');
}

export function fixtureStdioYaml(name: string, env: Record<string, string> = {}, extra = ''): string {
  return nodeStdioYaml(FIXTURE_SERVER, name, env, extra);
}

function nodeStdioYaml(script: string, name: string, env: Record<string, string>, extra: string): string {
  return `{ name: ${name}, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(script)}, stdio], env: ${JSON.stringify(env)}${extra ? `, ${extra}` : ''} }`;
}

/** Children of this process whose command line contains `needle` (Linux /proc). */
export function childProcesses(needle: string): number[] {
  const { readdirSync, readFileSync } = require('node:fs') as typeof import('node:fs');
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (ppid === process.pid && cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** True once the process is gone or a zombie (a container's init may never reap an orphan; a zombie runs nothing). */
export function processExited(pid: number): boolean {
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
