import { createTestDb, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedMigrationCount, rowsOf } from '../src';

describe('migrations', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  it('creates every table', async () => {
    const rows = rowsOf<{ n: number }>(
      await t.db.execute(sql`select count(*)::int as n from information_schema.tables where table_schema = 'public'`),
    );
    expect(rows[0].n).toBe(40);
    const applied = rowsOf<{ n: number }>(await t.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
    expect(applied[0].n).toBe(expectedMigrationCount());
  });
});
