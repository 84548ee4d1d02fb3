// A throwaway database on the local Postgres for one bench run: created, migrated with the
// service's own migrations, and dropped at the end unless kept.
import { randomBytes } from 'node:crypto';
import { createDb, type Db, migrate } from '../packages/db/src';

export const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The postgres.js client under drizzle (`db.$client`): COPY and raw SQL go through it. */
export interface PgClient {
  unsafe<T = Record<string, unknown>[]>(query: string, params?: unknown[]): Promise<T> & { writable(): Promise<NodeJS.WritableStream> };
  <T = Record<string, unknown>[]>(
    strings: TemplateStringsArray,
    ...values: unknown[]
  ): Promise<T> & {
    writable(): Promise<NodeJS.WritableStream>;
  };
  begin<T>(fn: (tx: PgClient) => Promise<T>): Promise<T>;
  end(opts?: { timeout?: number }): Promise<void>;
}

export interface BenchDb {
  name: string;
  url: string;
  db: Db;
  sql: PgClient;
  drop(): Promise<void>;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export const clientOf = (db: Db): PgClient => (db.db as unknown as { $client: PgClient }).$client;

async function admin(statement: string): Promise<void> {
  const db = await createDb({ url: ADMIN_URL, poolSize: 1 });
  try {
    await clientOf(db).unsafe(statement);
  } finally {
    await db.close();
  }
}

export async function createBenchDb(opts: { id?: string; poolSize?: number } = {}): Promise<BenchDb> {
  const name = `policy_push_bench_${opts.id ?? randomBytes(4).toString('hex')}`;
  await admin(`drop database if exists ${name} with (force)`);
  await admin(`create database ${name}`);
  const url = withDatabase(ADMIN_URL, name);
  await migrate({ url });
  const db = await createDb({ url, poolSize: opts.poolSize ?? 10, applicationName: 'policy-push-bench' });
  return {
    name,
    url,
    db,
    sql: clientOf(db),
    async drop() {
      await db.close();
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}
