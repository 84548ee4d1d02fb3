import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';
import { jobRuns } from '../schema';
import { bare } from '../sql-names';

const j = jobRuns;

/**
 * Claims one firing of a periodic job across all replicas: true for the one replica whose
 * insert of (job, slot) wins, false for the others.
 */
export async function claimJobRun(db: Queryable, job: string, slot: string): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(
      sql`insert into ${j} (${bare(j.job)}, ${bare(j.slot)}) values (${job}, ${slot}) on conflict do nothing returning ${j.job}`,
    ),
  );
  return rows.length > 0;
}

export async function pruneJobRuns(db: Queryable, olderThanDays: number): Promise<void> {
  await db.execute(sql`delete from ${j} where ${j.createdAt} < now() - ${olderThanDays} * interval '1 day'`);
}
