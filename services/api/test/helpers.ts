import { createLogger, parseConfig } from '@policy-push/core';
import { createTestDb, type TestDb } from '@policy-push/testkit';
import { type AppInstance, buildApp } from '../src/app';
import { createApiKey } from '../src/services/api-keys';

export interface TestApp {
  app: AppInstance;
  t: TestDb;
  /** Headers carrying an admin key. */
  auth: { authorization: string };
  close(): Promise<void>;
}

/** An app on a database of its own, with an admin key; close() drops both. */
export async function buildTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await createTestDb();
  const config = parseConfig({ LOG_LEVEL: 'silent', ...env });
  const logger = createLogger({ level: config.logLevel });
  const app = await buildApp({ config, db: t, logger });
  const { key } = await createApiKey(t.db, { name: 'test admin', role: 'admin' });
  return {
    app,
    t,
    auth: { authorization: `Bearer ${key}` },
    async close() {
      await app.close();
      await t.drop();
    },
  };
}

/** Row counts of every table, to prove a rejected request wrote nothing. */
export async function tableCounts(t: TestDb): Promise<Record<string, number>> {
  const { rowsOf } = await import('@policy-push/db');
  const { sql } = await import('drizzle-orm');
  const tables = rowsOf<{ table_name: string }>(
    await t.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`),
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = rowsOf<{ n: number }>(await t.db.execute(sql.raw(`select count(*)::int as n from "${table_name}"`)));
    counts[table_name] = row.n;
  }
  return counts;
}
