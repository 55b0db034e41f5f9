import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppConfig, LoadedConfigFile, parseConfigFile } from '@gatehouse/config';
import { createGatewayApp } from '../../apps/gateway/src/gateway.app';
import { createTestDatabase, redisPrefix } from './database';
import { withPlatform } from './platform';
import { freePort } from './servers';
import { REDIS_URL } from './test-run';
import { waitFor } from './wait';

export const ROOT = join(__dirname, '..', '..');

export interface GatewayOptions {
  /** The declarative config file's text. */
  yaml?: string;
  /** Variables the config file may use (${NAME}, secretEnv); process.env is visible too. */
  vars?: Record<string, string>;
  /** Extra environment for the gateway itself. */
  env?: Record<string, string>;
  /** Reuse a database (e.g. to restart a gateway on the same state). */
  databaseUrl?: string;
  redisPrefix?: string;
  /** The config file's platform section when the yaml has none: TEST_PLATFORM by default, null for the product's defaults. */
  platform?: object | null;
}

export interface TestGateway {
  app: NestExpressApplication;
  baseUrl: string;
  mcpUrl: string;
  databaseUrl: string;
  redisPrefix: string;
  close(): Promise<void>;
}

export function gatewayEnvironment(options: { databaseUrl: string; redisPrefix: string; env?: Record<string, string> }) {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL,
    GATEHOUSE_REDIS_PREFIX: options.redisPrefix,
    GATEHOUSE_SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...options.env,
  };
}

/** The whole gateway in this process, listening on a free loopback port. */
export async function startGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const databaseUrl = options.databaseUrl ?? (await createTestDatabase());
  const prefix = options.redisPrefix ?? redisPrefix();
  // PUBLIC_URL goes into OAuth metadata and challenges, so it must name the port the gateway really listens on.
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const config = AppConfig.from(
    gatewayEnvironment({ databaseUrl, redisPrefix: prefix, env: { PUBLIC_URL: baseUrl, PORT: String(port), ...options.env } }),
  );
  const yaml = withPlatform(options.yaml, options.platform);
  const configFile: LoadedConfigFile | null = yaml ? parseConfigFile('test.yaml', yaml, { ...process.env, ...options.vars }) : null;
  const app = await createGatewayApp({ config, configFile });
  await app.listen(port, '127.0.0.1');
  return {
    app,
    baseUrl,
    mcpUrl: `${baseUrl}/mcp`,
    databaseUrl,
    redisPrefix: prefix,
    close: () => app.close(),
  };
}

export interface SpawnedGateway {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** The built gateway (dist/) as its own process, for start-up and shutdown behaviour. */
export function spawnGateway(env: Record<string, string>): SpawnedGateway {
  return spawnBuilt('gateway', env);
}

/** The built worker (`npm run start:worker`) as its own process. */
export function spawnWorker(env: Record<string, string>): SpawnedGateway {
  return spawnBuilt('worker', env);
}

function spawnBuilt(app: 'gateway' | 'worker', env: Record<string, string>): SpawnedGateway {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', app, 'src', 'main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

export interface ConfiguredGateway {
  gateway: SpawnedGateway;
  baseUrl: string;
  databaseUrl: string;
}

/**
 * The built gateway as its own process, applying `yaml` as its config file, on a fresh database (or another replica's:
 * `shared`); ready to serve.
 */
export async function spawnConfiguredGateway(
  yaml: string,
  env: Record<string, string> = {},
  shared?: { databaseUrl: string; redisPrefix: string },
): Promise<ConfiguredGateway & { redisPrefix: string }> {
  const configPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-config-')), 'gatehouse.yaml');
  writeFileSync(configPath, withPlatform(yaml));
  const databaseUrl = shared?.databaseUrl ?? (await createTestDatabase());
  const prefix = shared?.redisPrefix ?? redisPrefix();
  const baseUrl = `http://127.0.0.1:${await freePort()}`;
  const gateway = spawnGateway(
    gatewayEnvironment({
      databaseUrl,
      redisPrefix: prefix,
      // The suite database is cloned from the migrated template.
      env: { PORT: new URL(baseUrl).port, PUBLIC_URL: baseUrl, GATEHOUSE_CONFIG: configPath, GATEHOUSE_MIGRATE: 'false', ...env },
    }),
  );
  try {
    await waitUntilReady(gateway, baseUrl);
  } catch (error) {
    gateway.child.kill('SIGKILL');
    throw error;
  }
  return { gateway, baseUrl, databaseUrl, redisPrefix: prefix };
}

/** Stops a spawned gateway (SIGTERM, its graceful shutdown) and waits for it to exit; nothing when it has already. */
export async function stopSpawned(gateway: SpawnedGateway): Promise<void> {
  if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) return;
  gateway.child.kill('SIGTERM');
  await gateway.exited;
}

/** Waits until a spawned gateway answers /readyz with 200; fails at once, with its output, if it exits instead. */
export async function waitUntilReady(gateway: SpawnedGateway, baseUrl: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    'the spawned gateway to be ready',
    async () => {
      if (gateway.child.exitCode !== null) throw new Error(`gateway exited with ${gateway.child.exitCode}: ${gateway.output()}`);
      const response = await fetch(`${baseUrl}/readyz`).catch(() => null);
      await response?.body?.cancel();
      return response?.status === 200;
    },
    timeoutMs,
  );
}

/** Waits for a start-up failure as the gateway must report it: non-zero exit, one line, no stack trace. Returns the line. */
export async function startupFailureLine(gateway: SpawnedGateway): Promise<string> {
  const code = await gateway.exited;
  const output = gateway.output();
  expect(code).not.toBe(0);
  expect(code).not.toBeNull();
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  expect(lines).toHaveLength(1);
  expect(output).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

/**
 * Waits until /readyz shows these connections connected with their tools listed, in every organization that has one
 * of the name (stdio servers start asynchronously, and two organizations' "fixture" connect in either order).
 */
export async function waitUntilConnected(gateway: TestGateway, names: string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(`connections ${names.join(', ')} to connect`, async () => {
    const response = await fetch(`${gateway.baseUrl}/readyz`);
    const items = ((await response.json()) as { connections?: { items?: { name: string; state: string; stale: boolean }[] } }).connections?.items ?? [];
    return names.every((name) => {
      const named = items.filter((item) => item.name === name);
      return named.length > 0 && named.every((item) => item.state === 'connected' && !item.stale);
    });
  }, timeoutMs);
}
