import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Pool, PoolClient, QueryResultRow } from 'pg';
import { AppConfig } from '@gatehouse/config';
import { BoundedPgPool } from './pg-pool';

/** A statement inside a transaction: bound values, rows back. */
export type SqlQuery = <T extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]) => Promise<T[]>;

/**
 * A statement each connection prepares once, by name, and then only executes: for the statements on every tool
 * call, whose parsing and planning cost as much as running them.
 */
export interface PreparedSql {
  name: string;
  text: string;
}

/** A timestamp(3) column's value (UTC, without time zone) as a bound parameter, whatever the process's time zone. */
export const sqlTimestamp = (date: Date): string => date.toISOString().slice(0, -1);

// node-postgres directly, for the few statements that run per tool call (audit records) or per exported row:
// Prisma's raw-query path costs several times the CPU and garbage per statement and per row. Everything else
// goes through Prisma. Values are always bound parameters.
@Injectable()
export class SqlPool implements OnApplicationShutdown {
  private readonly connections: BoundedPgPool;
  private readonly pool: Pool;

  constructor(config: AppConfig) {
    this.connections = new BoundedPgPool(config, 'sql', 10);
    this.pool = this.connections.pool;
  }

  async query<T extends QueryResultRow>(statement: string | PreparedSql, values: unknown[] = []): Promise<T[]> {
    const query = typeof statement === 'string' ? { text: statement, values } : { name: statement.name, text: statement.text, values };
    return (await this.pool.query<T>(query)).rows;
  }

  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  async transaction<T>(work: (query: SqlQuery) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(async (text, values = []) => (await client.query(text, values)).rows);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connections.close();
  }
}
