import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';

/**
 * Takes up to `wanted` units from a shared fixed window (bucket + window start) holding `limit`;
 * answers how many were granted (0 when the window is spent). Replicas racing for the same window
 * never grant more than the limit between them.
 */
export async function takeUnits(db: Queryable, bucket: string, windowStart: Date, wanted: number, limit: number): Promise<number> {
  const start = windowStart.toISOString();
  await db.execute(sql`insert into rate_windows (bucket, window_start, used) values (${bucket}, ${start}, 0) on conflict do nothing`);
  // The row lock serialises racing replicas; each sees what the one before it took.
  const rows = rowsOf<{ granted: number }>(
    await db.execute(sql`
      update rate_windows w set used = w.used + g.granted
      from (
        select least(${wanted}::int, greatest(${limit}::int - used, 0)) as granted
        from rate_windows where bucket = ${bucket} and window_start = ${start} for update
      ) g
      where w.bucket = ${bucket} and w.window_start = ${start}
      returning g.granted`),
  );
  return rows[0]?.granted ?? 0;
}

export async function pruneRateWindows(db: Queryable, olderThan: Date): Promise<void> {
  await db.execute(sql`delete from rate_windows where window_start < ${olderThan.toISOString()}`);
}
