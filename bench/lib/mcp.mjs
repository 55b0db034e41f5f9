// MCP clients as real agents use them (the SDK's Client over streamable HTTP, or over the legacy HTTP+SSE
// transport for a server that serves only that), and the downstream server.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort, spawnNode, waitFor } from './processes.mjs';

/**
 * The downstream under test. Both expose an `echo` tool; only the argument name differs.
 * BENCH_DOWNSTREAM=everything (default: @modelcontextprotocol/server-everything, the reference server)
 * or fixture (test/fixtures/fixture-server.mjs, a minimal SDK server).
 */
export const DOWNSTREAMS = {
  everything: {
    script: (root) => join(root, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js'),
    args: ['streamableHttp'],
    echoArguments: (text) => ({ message: text }),
    echoMatches: (result, text) => result.content?.[0]?.text === `Echo: ${text}`,
  },
  fixture: {
    script: (root) => join(root, 'test', 'fixtures', 'fixture-server.mjs'),
    args: ['http'],
    echoArguments: (text) => ({ text }),
    echoMatches: (result, text) => result.content?.[0]?.text === `echo: ${text}`,
  },
};

export async function startDownstream(root, kind) {
  const spec = DOWNSTREAMS[kind];
  if (!spec) throw new Error(`BENCH_DOWNSTREAM must be one of ${Object.keys(DOWNSTREAMS).join(', ')}`);
  const port = await freePort();
  const server = spawnNode(`downstream(${kind})`, [spec.script(root), ...spec.args], { cwd: root, env: { PORT: String(port) } });
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitFor(
    `${server.label} on port ${port}`,
    async () => {
      const response = await fetch(url, { method: 'GET', headers: { Accept: 'text/event-stream' } });
      await response.body?.cancel();
      return true;
    },
    {
      timeoutMs: 30_000,
      fail: () => {
        if (!server.running) throw new Error(`${server.label} exited during start-up`);
      },
    },
  );
  return Object.assign(server, { url, spec });
}

const TRANSPORTS = {
  'streamable-http': (url, requestInit) => new StreamableHTTPClientTransport(url, { requestInit }),
  // GET opens the session's event stream; requests are POSTed to the endpoint it announces, answers come back on it
  sse: (url, requestInit) => new SSEClientTransport(url, { requestInit }),
};

/** The bench's operation: one echo call through `toolName`, its result checked. */
export function echoCall(label, toolName, echo) {
  return async (client, worker, iteration) => {
    const text = `w${worker}-${iteration}`;
    const result = await client.callTool({ name: toolName, arguments: echo.echoArguments(text) });
    if (result.isError || !echo.echoMatches(result, text)) throw new Error(`${label}: unexpected result ${JSON.stringify(result).slice(0, 300)}`);
  };
}

/**
 * The SDK's client transports add an abort listener to one long-lived signal per message and never remove it, so
 * Node warns on every message past its limit: a client-side leak, not the gateway's, and not shown.
 */
export function hideSdkListenerWarnings() {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'MaxListenersExceededWarning') console.warn(warning);
  });
}

/** One MCP session: initialize over `transport`, optionally with a bearer token. */
export async function connectClient(url, token, { name = 'gatehouse-bench', transport = 'streamable-http' } = {}) {
  const createTransport = TRANSPORTS[transport];
  if (!createTransport) throw new Error(`unknown MCP transport ${transport}`);
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(createTransport(new URL(url), token ? { headers: { Authorization: `Bearer ${token}` } } : {}));
  return client;
}

/** Opens `count` sessions, a few at a time (as agents arriving, not as a thundering herd). */
export async function connectClients(url, token, count, { transport = 'streamable-http', batch = 8 } = {}) {
  const clients = [];
  try {
    for (let i = 0; i < count; i += batch) {
      const size = Math.min(batch, count - i);
      clients.push(...(await Promise.all(Array.from({ length: size }, (_, j) => connectClient(url, token, { name: `bench-${i + j}`, transport })))));
    }
  } catch (error) {
    await closeClients(clients);
    throw error;
  }
  return clients;
}

/** Ends the sessions politely (DELETE, where the transport has sessions to end), then closes the transports. */
export async function closeClients(clients) {
  await Promise.allSettled(
    clients.map(async (client) => {
      await client.transport?.terminateSession?.().catch(() => undefined);
      await client.close().catch(() => undefined);
    }),
  );
}
