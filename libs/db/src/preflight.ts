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
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new StartupError(postgresProblem(config.env.DATABASE_URL, error));
  } finally {
    await client.end().catch(() => undefined);
  }
}

// PostgreSQL answering but refusing us is a different fix from PostgreSQL not running: say which.
function postgresProblem(url: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.slice(1)) || 'postgres';
  if (code === '3D000') {
    return (
      `PostgreSQL at ${parsed.hostname}:${parsed.port || 5432} has no database "${database}": create it ` +
      `(e.g. "createdb -h ${parsed.hostname} -U ${decodeURIComponent(parsed.username) || 'postgres'} ${database}") or fix DATABASE_URL`
    );
  }
  if (code === '28P01' || code === '28000') {
    return `PostgreSQL at ${parsed.hostname}:${parsed.port || 5432} refused the credentials in DATABASE_URL (${code}): ${(error as Error).message}`;
  }
  return (
    `PostgreSQL is not reachable at ${where(url)} (${code || (error as Error).message}): start it ` +
    `(e.g. "pg_ctlcluster 15 main start" or "docker compose up -d postgres") or fix DATABASE_URL`
  );
}

export async function checkRedis(config: AppConfig): Promise<void> {
  const redis = new Redis(config.env.REDIS_URL, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The promise only says "Connection is closed"; the cause (ECONNREFUSED, auth…) arrives as an event.
  let cause: Error | null = null;
  redis.on('error', (error: Error) => (cause ??= error));
  let version: string | null;
  try {
    await redis.connect();
    version = redisVersion(await redis.info('server'));
  } catch (error) {
    const reason = cause ?? (error as Error);
    throw new StartupError(
      `Redis is not reachable at ${where(config.env.REDIS_URL)} (${(reason as NodeJS.ErrnoException).code ?? reason.message}): start it ` +
        `(e.g. "redis-server --daemonize yes" or "docker compose up -d redis") or fix REDIS_URL`,
    );
  } finally {
    redis.disconnect();
  }
  if (version !== null && !redisSupported(version)) {
    throw new StartupError(`Redis at ${where(config.env.REDIS_URL)} is ${version}; Gatehouse needs ${MIN_REDIS.join('.')} or later (browser sessions use GETEX): upgrade it`);
  }
}

// GETEX (browser sessions' idle expiry in one round trip) came with Redis 6.2.
const MIN_REDIS = [6, 2] as const;

/** redis_version from INFO server; null when the server does not say (a proxy), which is not refused. */
export function redisVersion(info: string): string | null {
  return /^redis_version:([0-9][0-9.]*)\s*$/m.exec(info)?.[1] ?? null;
}

export function redisSupported(version: string): boolean {
  const parts = version.split('.').map(Number);
  for (const [index, wanted] of MIN_REDIS.entries()) {
    const have = parts[index] ?? 0;
    if (have !== wanted) return have > wanted;
  }
  return true;
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
