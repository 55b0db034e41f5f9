import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { AppConfig, StartupError } from '@gatehouse/config';

const CONNECT_TIMEOUT_MS = 5_000;

function where(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || (parsed.protocol.startsWith('redis') ? 6379 : 5432)}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

// Answers "is PostgreSQL there?" and "is Redis there?" before anything else starts, each with one line an
// operator can act on, instead of a stack trace from deep inside a client library.
export async function checkPostgres(config: AppConfig): Promise<void> {
  const client = new Client({ connectionString: config.env.DATABASE_URL, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StartupError(
      `PostgreSQL is not reachable at ${where(config.env.DATABASE_URL)} (${reason}): start it ` +
        `(e.g. "pg_ctlcluster 15 main start" or "docker compose up -d postgres") or fix DATABASE_URL`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkRedis(config: AppConfig): Promise<void> {
  const redis = new Redis(config.env.REDIS_URL, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StartupError(
      `Redis is not reachable at ${where(config.env.REDIS_URL)} (${reason}): start it ` +
        `(e.g. "redis-server --daemonize yes" or "docker compose up -d redis") or fix REDIS_URL`,
    );
  } finally {
    redis.disconnect();
  }
}

/** Applies pending migrations with the Prisma CLI (the only supported way without native engines). */
export async function migrate(config: AppConfig): Promise<void> {
  const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
  const output: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'migrate', 'deploy'], {
      cwd: findProjectRoot(),
      env: { ...config.processEnvironment, DATABASE_URL: config.env.DATABASE_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    const text = Buffer.concat(output).toString('utf8');
    const line = text.split('\n').find((l) => /error/i.test(l)) ?? text.trim().split('\n').pop();
    throw new StartupError(`Database migration failed: ${line?.trim() ?? `exit code ${code}`}`);
  }
}

// The directory holding prisma.config.ts, whether we run from source (tests) or from dist/.
function findProjectRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'prisma.config.ts'))) return dir;
  }
  throw new StartupError('Cannot find prisma.config.ts above ' + __dirname);
}
