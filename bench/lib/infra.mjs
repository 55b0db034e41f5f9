// The bench's own PostgreSQL database and Redis prefix: created fresh per run, removed at the end.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import Redis from 'ioredis';
import { processCpuMs } from './processes.mjs';

export const ADMIN_DATABASE_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function runName() {
  return `gh_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

function databaseUrl(name) {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin(run) {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

/** Creates an empty database (the gateway applies its migrations at start) and returns its URL. */
export async function createDatabase(name) {
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
  return databaseUrl(name);
}

export async function dropDatabase(name) {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Deletes every key under the run's prefix (queues, counters, caches). */
export async function deleteRedisPrefix(prefix) {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined); // the failure surfaces from connect()/scan below
  try {
    await redis.connect();
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/**
 * CPU time of the PostgreSQL backends serving the bench database (the gateway's pool), summed from /proc.
 * Approximate: a backend that exits between two readings takes its CPU time with it. Needs PostgreSQL on
 * this machine; returns null otherwise.
 */
export async function openBackendMeter(name) {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  const seen = new Map(); // pid → last CPU ms, so backends that exit keep what they had
  return {
    async cpuMs() {
      const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
      let readable = false;
      for (const { pid } of rows) {
        const ms = processCpuMs(pid);
        if (ms === null) continue;
        readable = true;
        seen.set(pid, ms);
      }
      if (!readable && !seen.size) return null;
      let total = 0;
      for (const ms of seen.values()) total += ms;
      return total;
    },
    /** Transactions committed in the database so far (PostgreSQL publishes them within a second or so). */
    async commits() {
      const { rows } = await admin.query('SELECT xact_commit FROM pg_stat_database WHERE datname = $1', [name]);
      return Number(rows[0]?.xact_commit ?? 0);
    },
    close: () => admin.end(),
  };
}
