// The peer the bench compares Gatehouse with: mcp-hub (dev dependency), an MCP aggregator with no authentication,
// policy, limits or audit, in front of the same downstream. It runs as its own process, the way it is deployed.
//
// What it is, as far as the bench is concerned (read from its dist/cli.js, 4.2.1):
// - Upstream it serves only the legacy HTTP+SSE transport: GET /mcp opens a session's event stream, the client POSTs
//   to /messages?sessionId=… (202) and every answer comes back over that stream. There is no streamable-HTTP
//   endpoint upstream, so its clients use the SDK's SSEClientTransport.
// - Downstream it keeps one MCP client per configured server, shared by every upstream session (as Gatehouse keeps
//   one session per connection). For a `url` entry it tries streamable HTTP first and falls back to SSE; its status
//   reports `transportType: "sse"` for any `url` entry, whichever of the two it ended up with.
// - It renames tools `<server>__<tool>` (the server name with anything but [a-zA-Z0-9] turned into `_`).
// - At start it loads a "marketplace" catalog from the web unless a fresh copy is in its cache (and falls back to
//   running curl when fetch fails). This machine has no way out, and a benchmark should not try one: a fresh
//   one-entry catalog is written into its cache first, so it never looks.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeClients, connectClients } from './mcp.mjs';
import { freePort, spawnNode, waitFor } from './processes.mjs';

export const PEER_LABEL = 'mcp-hub';
export const PEER_TRANSPORT = 'sse';
// Its name for the downstream in mcp-hub's config, and so the prefix of the tools it lists.
const SERVER = 'downstream';

export async function startPeer({ root, workDir, downstreamUrl }) {
  // mcp-hub keeps logs, a workspace registry and the catalog cache under HOME and the XDG folders: all in the run's
  // work folder, so it neither reads nor leaves anything in the user's.
  const home = join(workDir, PEER_LABEL);
  const folders = { XDG_DATA_HOME: join(home, 'data'), XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
  seedCatalogCache(join(folders.XDG_DATA_HOME, 'mcp-hub', 'cache'));
  const configPath = join(home, 'servers.json');
  writeFileSync(configPath, JSON.stringify({ mcpServers: { [SERVER]: { url: downstreamUrl } } }));

  const packageDir = join(root, 'node_modules', 'mcp-hub');
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const port = await freePort();
  const peer = spawnNode(PEER_LABEL, [join(packageDir, 'dist', 'cli.js'), '--port', String(port), '--config', configPath], {
    cwd: home,
    capture: true,
    env: { HOME: home, ...folders },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const mcpUrl = `${baseUrl}/mcp`;
  const started = performance.now();
  const fail = () => {
    if (!peer.running) throw new Error(`${peer.label} exited during start-up:\n${peer.output()}`);
  };
  try {
    await waitFor(`${peer.label} to connect to the downstream`, () => downstreamConnected(baseUrl), { timeoutMs: 30_000, fail });
    // Connected is not enough: its MCP endpoint re-lists the catalog on its own events, so wait until an upstream
    // session is offered the downstream's echo, and take the name it is offered under.
    const toolName = await waitFor(`${peer.label} to list the downstream's echo`, () => listedEcho(mcpUrl), { timeoutMs: 30_000, fail });
    return Object.assign(peer, { version, baseUrl, mcpUrl, toolName, transport: PEER_TRANSPORT, startupMs: performance.now() - started });
  } catch (error) {
    if (peer.running) error.message += `\n${peer.label} output:\n${peer.output()}`;
    await peer.stop();
    throw error;
  }
}

async function downstreamConnected(baseUrl) {
  const response = await fetch(`${baseUrl}/api/health`);
  const health = await response.json();
  const server = health.servers?.find((item) => item.name === SERVER);
  return health.state === 'ready' && server?.status === 'connected';
}

async function listedEcho(mcpUrl) {
  const clients = await connectClients(mcpUrl, null, 1, { transport: PEER_TRANSPORT });
  try {
    const { tools } = await clients[0].listTools();
    return tools.find((tool) => tool.name.endsWith('__echo'))?.name ?? null;
  } finally {
    await closeClients(clients);
  }
}

/** Its catalog counts as fresh for an hour when it lists at least one server (isCatalogValid in its code). */
function seedCatalogCache(folder) {
  mkdirSync(folder, { recursive: true });
  const now = Date.now();
  const registry = { version: 'bench', generatedAt: now, totalServers: 1, servers: [{ id: 'bench', name: 'bench' }] };
  writeFileSync(join(folder, 'registry.json'), JSON.stringify({ registry, lastFetchedAt: now, serverDocumentation: {} }));
}
