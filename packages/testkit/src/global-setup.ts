import { migrate } from '@policy-push/db';
import { TEMPLATE_DATABASE, testDatabaseUrl, withAdmin, withDatabase } from './test-db';

// With real Postgres: migrate a template database once; each test file copies it.
export default async function setup(): Promise<() => Promise<void>> {
  const url = testDatabaseUrl();
  if (!url) return async () => {};
  await withAdmin(url, async (sql) => {
    await sql.unsafe(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
    await sql.unsafe(`create database ${TEMPLATE_DATABASE}`);
  });
  await migrate({ url: withDatabase(url, TEMPLATE_DATABASE) });
  return async () => {
    await withAdmin(url, async (sql) => {
      const leftovers = await sql<{ datname: string }[]>`select datname from pg_database where datname like 'policy_push_test_%'`;
      for (const { datname } of leftovers) await sql.unsafe(`drop database if exists ${datname} with (force)`);
    });
  };
}
