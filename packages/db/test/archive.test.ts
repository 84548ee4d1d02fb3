// The archive tables must keep every column of their live tables, with the same type: a batch moves
// rows by column name (archive-queries.ts), so a column added to deliveries and not to its archive
// would fail every archiving run. This test fails first.
import { createTestDb, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src';

describe('archive tables', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  it.each([
    ['deliveries', 'deliveries_archive'],
    ['delivery_attempts', 'delivery_attempts_archive'],
    ['delivery_events', 'delivery_events_archive'],
    ['delivery_opens', 'delivery_opens_archive'],
  ])('%s_archive has every column of %s, with its type', async (live, archive) => {
    const columns = async (table: string) =>
      rowsOf<{ column_name: string; data_type: string; udt_name: string }>(
        await t.db.execute(sql`
          select column_name, data_type, udt_name from information_schema.columns
          where table_schema = 'public' and table_name = ${table} order by column_name`),
      );
    const archived = new Map((await columns(archive)).map((c) => [c.column_name, c]));
    const liveColumns = await columns(live);
    expect(liveColumns.length).toBeGreaterThan(3);
    for (const c of liveColumns) expect(archived.get(c.column_name), `${archive}.${c.column_name}`).toEqual(c);
  });
});
