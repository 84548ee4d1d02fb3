import { randomBytes } from 'node:crypto';
import { createDb, type Db, type DbConfig, migrate } from '@policy-push/db';
import postgres from 'postgres';

// Fan-out and claims see the whole database, so every test file gets a database of its own:
// a fresh in-memory PGlite, or (with TEST_DATABASE_URL) a copy of a template database that the
// global setup migrated once per run.
// Each run has its own template and database names, so runs sharing one server (CI, developers,
// parallel sessions) never drop each other's databases. The global setup picks the run id.
export const testRunId = (): string => process.env.POLICY_PUSH_TEST_RUN ?? 'local';
export const templateDatabase = (): string => `policy_push_test_${testRunId()}_template`;

export interface TestDb extends Db {
  config: DbConfig;
  drop(): Promise<void>;
}

export function testDatabaseUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || undefined;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDb(): Promise<TestDb> {
  const url = testDatabaseUrl();
  if (!url) {
    const config: DbConfig = {};
    const db = await createDb(config);
    await migrate(config, db);
    return { ...db, config, drop: () => db.close() };
  }
  const name = `policy_push_test_${testRunId()}_${randomBytes(6).toString('hex')}`;
  await withAdmin(url, async (sql) => {
    await sql.unsafe(`create database ${name} template ${templateDatabase()}`);
  });
  const config: DbConfig = { url: withDatabase(url, name), poolSize: 5 };
  const db = await createDb(config);
  return {
    ...db,
    config,
    async drop() {
      await db.close();
      await withAdmin(url, (sql) => sql.unsafe(`drop database if exists ${name} with (force)`));
    },
  };
}

export async function withAdmin<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
