import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { decodeRows, toNumber } from '../rows';
import { rateWindows } from '../schema';
import { bare } from '../sql-names';

/**
 * Takes up to `wanted` units from a shared fixed window (bucket + window start) holding `limit`;
 * answers how many were granted (0 when the window is spent). Replicas racing for the same window
 * never grant more than the limit between them.
 */
export async function takeUnits(db: Queryable, bucket: string, windowStart: Date, wanted: number, limit: number): Promise<number> {
  const start = windowStart.toISOString();
  const w = rateWindows;
  await db.execute(sql`
    insert into ${w} (${bare(w.bucket)}, ${bare(w.windowStart)}, ${bare(w.used)}) values (${bucket}, ${start}, 0)
    on conflict do nothing`);
  // The row lock serialises racing replicas; each sees what the one before it took.
  const [granted = 0] = decodeRows(
    await db.execute(sql`
      update ${w} set ${bare(w.used)} = ${w.used} + g.granted
      from (
        select least(${wanted}::int, greatest(${limit}::int - ${w.used}, 0)) as granted
        from ${w} where ${w.bucket} = ${bucket} and ${w.windowStart} = ${start} for update
      ) g
      where ${w.bucket} = ${bucket} and ${w.windowStart} = ${start}
      returning g.granted`),
    (r) => toNumber(r.granted),
  );
  return granted;
}

export async function pruneRateWindows(db: Queryable, olderThan: Date): Promise<void> {
  await db.execute(sql`delete from ${rateWindows} where ${rateWindows.windowStart} < ${olderThan.toISOString()}`);
}
