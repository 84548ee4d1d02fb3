import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
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

async function createPostgresDb(url: string, config: DbConfig): Promise<Db> {
  const client = postgres(url, {
    max: config.poolSize ?? 10,
    onnotice: () => {},
    connection: {
      application_name: config.applicationName ?? 'policy-push',
      // A forgotten open transaction stops vacuum and makes claims walk dead rows.
      idle_in_transaction_session_timeout: 60_000,
    },
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Database;
  return {
    db,
    driver: 'postgres',
    async listen(channel, onNotify) {
      const { unlisten } = await client.listen(channel, () => onNotify());
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function createPgliteDb(dataDir: string | undefined): Promise<Db> {
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

function lockDataDir(dataDir: string): () => void {
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
