import { createTestDb, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigintArray, booleanArray, rowsOf, textArray } from '../src';

// Arrays as single parameters behave the same on postgres.js and PGlite.
describe('array parameters', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  it('round-trip through unnest on this driver', async () => {
    const rows = rowsOf<{ b: boolean; n: string | number; s: string | null }>(
      await t.db.execute(
        sql`select * from unnest(${booleanArray([true, false, true])}, ${bigintArray([1, 2, 3])}, ${textArray(['a', null as unknown as string, 'c'])}) as v(b, n, s)`,
      ),
    );
    expect(rows.map((r) => [r.b, Number(r.n), r.s])).toEqual([
      [true, 1, 'a'],
      [false, 2, null],
      [true, 3, 'c'],
    ]);
  });
});
