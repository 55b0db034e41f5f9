import { Logger } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';
import { AppConfig, settlesWithin } from '@gatehouse/config';

// Opening a connection, or waiting for a free one in the pool, fails after this instead of queueing for ever.
export const CONNECT_TIMEOUT_MS = 30_000;
// PostgreSQL ends a session left idle inside a transaction this long (its process stalled, stopped or lost), so
// the locks it holds, the config file's apply lock among them, cannot hold every other process for ever.
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;
// At shutdown, how long statements still running may take before their connections are closed under them.
const CLOSE_GRACE_MS = 3_000;

/**
 * A pg pool whose every wait is bounded: connecting and acquiring (CONNECT_TIMEOUT_MS), lock waits
 * (GATEHOUSE_DB_LOCK_TIMEOUT_MS, as PostgreSQL's lock_timeout), and its own closing (close()). Both the Prisma
 * client and SqlPool use one, so no wait on PostgreSQL anywhere in the process is unbounded.
 */
export class BoundedPgPool {
  readonly pool: Pool;
  private readonly logger: Logger;
  private readonly inUse = new Set<PoolClient>();

  constructor(config: AppConfig, name: string, max: number) {
    this.logger = new Logger(`PgPool:${name}`);
    this.pool = new Pool({
      connectionString: config.env.DATABASE_URL,
      max,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      options: `-c lock_timeout=${config.env.GATEHOUSE_DB_LOCK_TIMEOUT_MS} -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
    });
    // An idle connection that fails (database restart) is only dropped; without a listener it would crash the process.
    this.pool.on('error', (error) => this.logger.warn({ err: error }, 'An idle database connection failed'));
    this.pool.on('acquire', (client) => this.inUse.add(client));
    this.pool.on('release', (_error, client) => this.inUse.delete(client));
    this.pool.on('remove', (client) => this.inUse.delete(client));
  }

  /**
   * Ends the pool. pg waits for every connection in use to be released; a statement that is stuck (a lock held
   * elsewhere, a database that stopped answering) would hold shutdown for ever, so after CLOSE_GRACE_MS the
   * connections still in use are closed under their statements, which then fail (and PostgreSQL rolls back).
   */
  async close(): Promise<void> {
    const ended = this.pool.end();
    if (await settlesWithin(ended, CLOSE_GRACE_MS)) return;
    this.logger.warn(`Closing ${this.inUse.size} database connections whose statements did not finish within ${CLOSE_GRACE_MS} ms of shutdown`);
    for (const client of this.inUse) void client.end().catch(() => undefined);
    // A client whose holder never releases it keeps pg's end() waiting: it is not waited for any longer.
    await settlesWithin(ended, 1_000);
  }
}
