import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = PgTransaction<PgQueryResultHKT, Schema>;
/** Anything queries can run on: the database or an open transaction. */
export type Queryable = Database | Transaction;

export interface DbConfig {
  /** postgres:// URL; without it the embedded PGlite is used. */
  url?: string;
  /** PGlite data directory; in memory when absent. */
  dataDir?: string;
  poolSize?: number;
  applicationName?: string;
  /**
   * statement_timeout of every connection of this pool, in ms (Postgres only; none when absent).
   * The API sets one: its reporting queries (reach, exports, the ops console) must not run for
   * ever; the dispatcher's fan-out chunks and claims are short by construction.
   */
  statementTimeoutMs?: number;
}

export interface Db {
  db: Database;
  driver: 'pglite' | 'postgres';
  /** Subscribe to a NOTIFY channel; returns the unsubscribe function. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));
// Any constant shared by every process of this service; it names the migration lock.
const MIGRATION_LOCK = 7_100_431;

export async function createDb(config: DbConfig): Promise<Db> {
  return config.url ? createPostgresDb(config.url, config) : createPgliteDb(config.dataDir);
}

/**
 * drizzle runs every query with postgres.js's `prepare: false`. For a statement with parameters,
 * postgres.js then asks the server to describe it, waits for the answer, and only then binds and
 * executes it: two round trips and a parse on the server every time, and nothing pipelined behind
 * it on that connection (a primary-key read: 130–150 µs of client CPU against 30–35 µs). Here
 * every statement is prepared once per connection under a name and reused. Their number is
 * bounded by the distinct statement texts, and they go with their connection (postgres.js retires
 * one after 30–60 minutes, and prepares again a statement that a migration made stale). Each
 * execution is still planned for its own parameters (`plan_cache_mode` below): a generic plan
 * made while `deliveries` was empty would scan it.
 */
function namedStatements<T extends postgres.Sql | postgres.TransactionSql>(sql: T): T {
  const inScope =
    (run: (...args: unknown[]) => Promise<unknown>) =>
    (...args: unknown[]) => {
      // begin(cb), begin(options, cb), savepoint(cb), savepoint(name, cb): the callback is last.
      const cb = args.pop() as (tx: postgres.TransactionSql) => unknown;
      return run(...args, (tx: postgres.TransactionSql) => cb(namedStatements(tx)));
    };
  return new Proxy(sql, {
    get(target, prop) {
      if (prop === 'unsafe')
        return (query: string, params?: postgres.ParameterOrJSON<never>[], options?: postgres.UnsafeQueryOptions) =>
          target.unsafe(query, params, { ...options, prepare: true });
      if (prop === 'begin' || prop === 'savepoint') {
        const run = Reflect.get(target, prop) as (...args: unknown[]) => Promise<unknown>;
        return inScope(run.bind(target));
      }
      return Reflect.get(target, prop);
    },
  });
}

async function createPostgresDb(url: string, config: DbConfig): Promise<Db> {
  const client = postgres(url, {
    max: config.poolSize ?? 10,
    onnotice: () => {},
    connection: {
      application_name: config.applicationName ?? 'policy-push',
      // A forgotten open transaction stops vacuum and makes claims walk dead rows (PERFORMANCE.md);
      // infra/postgres/postgresql.conf sets the same for sessions that are not ours.
      idle_in_transaction_session_timeout: 60_000,
      plan_cache_mode: 'force_custom_plan',
      ...(config.statementTimeoutMs ? { statement_timeout: config.statementTimeoutMs } : {}),
    },
  });
  const db = drizzlePostgres(namedStatements(client), { schema }) as unknown as Database;
  return {
    db,
    driver: 'postgres',
    listen: (channel, onNotify) => listenWithRetry(url, config, channel, onNotify),
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * LISTEN on a connection of its own that subscribes again whenever it closes (a server restart, a
 * failover), retrying with backoff until the server is back, then wakes the listener once: work
 * may have arrived meanwhile. (postgres.js's own listen re-subscribes once on close, and gives up
 * when that one attempt finds the server still down.)
 */
async function listenWithRetry(url: string, config: DbConfig, channel: string, onNotify: () => void): Promise<() => Promise<void>> {
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let listener: postgres.Sql | undefined;
  // Each attempt opens a client of its own and ends the one before: a client whose connection
  // broke during a server restart was seen never to listen again, and a dispatcher without its
  // listener only polls. Only the current client's close starts a new attempt.
  function connect(): Promise<void> {
    const client: postgres.Sql = postgres(url, {
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      // An attempt made while the server restarts can hang instead of being refused: give up on
      // it soon (postgres.js waits 30 s by default) so that the next attempt is not held back.
      connect_timeout: 5,
      onnotice: () => {},
      connection: { application_name: config.applicationName ?? 'policy-push' },
      onnotify: (name: string) => {
        if (name === channel) onNotify();
      },
      onclose: () => {
        if (!stopped && client === listener) resubscribe(500);
      },
    } as unknown as postgres.Options<Record<string, never>>);
    const previous = listener;
    listener = client;
    previous?.end({ timeout: 0 }).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('listen timed out')), 10_000);
    });
    return Promise.race([client.unsafe(`listen "${channel.replace(/"/g, '""')}"`), timeout]).then(
      () => clearTimeout(timer),
      (err) => {
        clearTimeout(timer);
        throw err;
      },
    );
  }
  function resubscribe(delayMs: number) {
    clearTimeout(retry);
    retry = setTimeout(() => {
      if (stopped) return;
      connect().then(
        () => onNotify(),
        () => resubscribe(Math.min(delayMs * 2, 5_000)),
      );
    }, delayMs);
  }
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await listener?.end({ timeout: 5 });
  };
}

// PGlite is loaded only in embedded mode. A process on Postgres never uses it, and loading it
// (through tsx, as the service runs) cost the API about 20 MiB of resident memory (issue 13).
async function createPgliteDb(dataDir: string | undefined): Promise<Db> {
  const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  // PGlite is a single session inside this process: two processes on one data directory would
  // corrupt it, so the directory is locked.
  const release = dataDir ? lockDataDir(dataDir) : () => {};
  const client = new PGlite(dataDir ?? 'memory://');
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    async listen(channel, onNotify) {
      const unlisten = await client.listen(channel, () => onNotify());
      return () => unlisten();
    },
    async close() {
      await client.close();
      release();
    },
  };
}

/** Claims a PGlite data directory for this process (a lock file with its pid); throws while another live process holds it. */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = join(dataDir, '.policy-push.lock');
  if (existsSync(lockFile)) {
    const pid = Number(readFileSync(lockFile, 'utf8'));
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new Error(`${dataDir} is in use by process ${pid}: PGlite allows one process per data directory`);
    }
    rmSync(lockFile, { force: true });
  }
  const fd = openSync(lockFile, 'wx');
  writeSync(fd, String(process.pid));
  closeSync(fd);
  return () => rmSync(lockFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Applies the committed migrations once. On Postgres several processes may start together, so
 * the migration runs on one dedicated connection holding an advisory lock; the others wait on
 * the lock and then find nothing left to do.
 */
export async function migrate(config: DbConfig, handle?: Db): Promise<void> {
  if (!config.url) {
    if (!handle) throw new Error('migrate: the PGlite handle is required');
    const { migrate: migratePglite } = await import('drizzle-orm/pglite/migrator');
    await migratePglite(handle.db as never, { migrationsFolder });
    return;
  }
  const client = postgres(config.url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migratePostgres(drizzlePostgres(client), { migrationsFolder });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Number of migrations in the committed journal, for readiness checks. */
export function expectedMigrationCount(): number {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8'));
  return journal.entries.length;
}
