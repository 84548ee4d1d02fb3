// `pnpm db:migrate`: applies the committed migrations and exits — the one-off step that
// docker-compose.yml and the Kubernetes Job (infra/k8s) run before the API and dispatchers start.
// Reads the configuration as the server does: DATABASE_URL, or the embedded database under
// DATA_DIR (stop `pnpm start` first: PGlite allows one process). On Postgres the migration holds
// an advisory lock, so two of these at once are safe. Exit code 0 when the schema is current.
import { createDb, type Database, expectedMigrationCount, migrate, rowsOf, sql } from '@policy-push/db';
import { commandDb, type Output, readConfig, runAsScript } from './cli';

export async function migrateCli(env: Record<string, string | undefined>, out: Output, err: Output): Promise<number> {
  const config = readConfig(env, err);
  if (!config) return 1;
  const dbConfig = commandDb(config, 'migrate');
  let db;
  try {
    db = await createDb(dbConfig);
  } catch (e) {
    // The embedded data directory in use by a running service, most often.
    err.write(`${(e as Error).message}\n`);
    return 1;
  }
  try {
    const before = await appliedMigrations(db.db);
    await migrate(dbConfig, db);
    const after = await appliedMigrations(db.db);
    const expected = expectedMigrationCount();
    if (after < expected) {
      err.write(`only ${after} of ${expected} migrations are recorded as applied\n`);
      return 1;
    }
    out.write(`${after - before} migration(s) applied; the schema is current (${after} of ${expected}).\n`);
    return 0;
  } finally {
    await db.close();
  }
}

async function appliedMigrations(db: Database): Promise<number> {
  const [exists] = rowsOf<{ t: string | null }>(await db.execute(sql`select to_regclass('drizzle.__drizzle_migrations')::text as t`));
  if (!exists.t) return 0;
  const [row] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
  return row.n;
}

runAsScript(import.meta.url, () => migrateCli(process.env, process.stdout, process.stderr));
