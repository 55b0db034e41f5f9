// Starts the built gateway (dist/) as its own process, the way it is deployed, and waits until it is ready
// with the expected number of downstream connections connected and their tool catalogs loaded.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnNode, waitFor } from './processes.mjs';
import { REDIS_URL } from './infra.mjs';

// Variables that would change what the gateway does if the shell running the bench happens to set them.
const INHERITED_BLOCKLIST = /^(GATEHOUSE_|DATABASE_URL$|REDIS_URL$|PORT$|HOST$|PUBLIC_URL$|LOG_LEVEL$|NODE_ENV$|NODE_OPTIONS$)/;

const BENCH_AUDIT_KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

export async function startGateway({ root, label, workDir, yaml, vars = {}, env = {}, databaseUrl, redisPrefix, expect, cpuProfDir, nodeFlags = [] }) {
  const port = await freePort();
  const configPath = join(workDir, `${label}.yaml`);
  writeFileSync(configPath, yaml);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !INHERITED_BLOCKLIST.test(key)));
  const nodeOptions = [...nodeFlags];
  if (cpuProfDir) {
    mkdirSync(cpuProfDir, { recursive: true });
    nodeOptions.push('--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=gateway-${label}-${process.pid}.cpuprofile`);
  }
  const gateway = spawnNode(`gateway(${label})`, [join(root, 'dist', 'apps', 'gateway', 'src', 'main.js')], {
    cwd: root,
    capture: true,
    inheritEnv: false,
    nodeOptions,
    env: {
      ...inherited,
      ...vars,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      GATEHOUSE_REDIS_PREFIX: redisPrefix,
      GATEHOUSE_CONFIG: configPath,
      GATEHOUSE_SECRET_KEY: 'bench-secret-key-bench-secret-key-0123456789',
      // Production requires an audit signing key; a throwaway one per run is enough for a benchmark.
      GATEHOUSE_AUDIT_SIGNING_KEY: BENCH_AUDIT_KEY,
      ...env,
    },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const started = performance.now();
  let last = null;
  try {
    await waitFor(
      `${gateway.label} to be ready with ${expect.connected}/${expect.total} connections connected`,
      async () => {
        const response = await fetch(`${baseUrl}/readyz`);
        last = await response.json();
        const { connections } = last;
        if (last.status !== 'ready' || connections.total !== expect.total || connections.connected !== expect.connected) return false;
        // connected is not enough: the catalog of each connected downstream must have been listed.
        return connections.items.filter((item) => item.state === 'connected').every((item) => item.tools > 0 && !item.stale);
      },
      {
        timeoutMs: 90_000,
        fail: () => {
          if (!gateway.running) throw new Error(`${gateway.label} exited during start-up:\n${gateway.output()}`);
        },
      },
    );
  } catch (error) {
    if (last) error.message += `\nlast /readyz: ${JSON.stringify(last.connections ?? last)}`;
    if (gateway.running) error.message += `\ngateway output:\n${gateway.output()}`;
    await gateway.stop();
    throw error;
  }
  return Object.assign(gateway, { baseUrl, mcpUrl: `${baseUrl}/mcp`, startupMs: performance.now() - started, readyz: last });
}

/** One organization of a bench config file: an admin key from `secretEnv`, and HTTP connections. */
export function organizationYaml(slug, secretEnv, connections, { maxConcurrency, members = [] }) {
  return [
    `  - slug: ${slug}`,
    `    name: ${slug}`,
    ...(members.length ? ['    members:', ...members.map((member) => `      - ${JSON.stringify(member)}`)] : []),
    '    apiKeys:',
    `      - { name: ${slug}-admin, role: admin, access: read_write, secretEnv: ${secretEnv} }`,
    '    connections:',
    ...connections.map(
      (c) =>
        `      - { name: ${c.name}, transport: http, url: ${JSON.stringify(c.url)}, connectTimeoutMs: ${c.connectTimeoutMs ?? 5000}, callTimeoutMs: 30000, maxConcurrency: ${maxConcurrency} }`,
    ),
  ];
}

export async function readyz(baseUrl) {
  const response = await fetch(`${baseUrl}/readyz`);
  return response.json();
}
