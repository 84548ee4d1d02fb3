import { migrate } from '@policy-push/db';
import { randomBytes } from 'node:crypto';
import { templateDatabase, testDatabaseUrl, testRunId, withAdmin, withDatabase } from './test-db';

// With real Postgres: migrate a template database once; each test file copies it.
export default async function setup(): Promise<() => Promise<void>> {
  const url = testDatabaseUrl();
  if (!url) return async () => {};
  // Workers inherit the environment: they find this run's template through it.
  process.env.POLICY_PUSH_TEST_RUN = randomBytes(4).toString('hex');
  const template = templateDatabase();
  await withAdmin(url, async (sql) => {
    await sql.unsafe(`drop database if exists ${template} with (force)`);
    await sql.unsafe(`create database ${template}`);
  });
  await migrate({ url: withDatabase(url, template) });
  return async () => {
    await withAdmin(url, async (sql) => {
      const leftovers = await sql<
        { datname: string }[]
      >`select datname from pg_database where datname like ${`policy_push_test_${testRunId()}_%`}`;
      for (const { datname } of leftovers) await sql.unsafe(`drop database if exists ${datname} with (force)`);
    });
  };
}
