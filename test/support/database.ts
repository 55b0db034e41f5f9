import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ADMIN_DATABASE_URL, databaseUrl, runId, templateDatabase } from './test-run';

/** A fresh, migrated database for one suite (dropped by the global teardown). */
export async function createTestDatabase(): Promise<string> {
  const name = `gh_test_${runId()}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDatabase()}"`);
  } finally {
    await admin.end();
  }
  return databaseUrl(name);
}

/** Runs a query against a suite database, for assertions on what was stored. */
export async function query<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Takes row locks in a transaction of its own (`sql`: a SELECT … FOR UPDATE), held until `release()` commits it. */
export async function lockRows(url: string, sql: string, params: unknown[] = []): Promise<{ release: () => Promise<void> }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(sql, params);
  } catch (error) {
    await client.end();
    throw error;
  }
  return { release: () => client.query('COMMIT').then(() => undefined).finally(() => client.end()) };
}

export function redisPrefix(): string {
  return `gh_test_${runId()}_${randomBytes(4).toString('hex')}`;
}
