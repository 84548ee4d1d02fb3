// Reach over time (issues 14 and 15): per hour or per day, how many enterprises a policy reached
// and engaged, and the running totals. Read from reach_timeline, which refreshReach keeps with the
// other reach counters (reach-queries.ts), so the last cumulative values equal the policy's
// reached and engaged counters, and no delivery is scanned. Call refreshReach first for the latest.
import { sql } from 'drizzle-orm';
import { SHANGHAI_TIME_ZONE } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { decodeRows, toDate, toNumber } from '../rows';
import { reachTimeline } from '../schema';

/** Days are Guangzhou's: the people reading the chart count them there. */
export const REACH_TIMELINE_ZONE = SHANGHAI_TIME_ZONE;

export interface ReachTimelinePoint {
  /** The bucket's start (an hour, or a day's midnight in Asia/Shanghai), ISO 8601. */
  at: string;
  /** Enterprises that became reached / engaged in the bucket. */
  reached: number;
  engaged: number;
  cumulativeReached: number;
  cumulativeEngaged: number;
}

/** The policy's buckets in time order; only buckets where something changed. */
export async function getReachTimeline(db: Queryable, policyId: number, opts: { bucket: 'hour' | 'day' }): Promise<ReachTimelinePoint[]> {
  const t = reachTimeline;
  const bucket =
    opts.bucket === 'day'
      ? sql`(date_trunc('day', ${t.hour} at time zone ${REACH_TIMELINE_ZONE}) at time zone ${REACH_TIMELINE_ZONE})`
      : sql`${t.hour}`;
  return decodeRows(
    await db.execute(sql`
      select at, reached, engaged,
        (sum(reached) over (order by at))::int as cumulative_reached,
        (sum(engaged) over (order by at))::int as cumulative_engaged
      from (
        select ${bucket} as at, sum(${t.reached})::int as reached, sum(${t.engaged})::int as engaged
        from ${t}
        where ${t.policyId} = ${policyId}
        group by 1
        having sum(${t.reached}) <> 0 or sum(${t.engaged}) <> 0
      ) b
      order by at`),
    (r): ReachTimelinePoint => ({
      at: toDate(r.at).toISOString(),
      reached: toNumber(r.reached),
      engaged: toNumber(r.engaged),
      cumulativeReached: toNumber(r.cumulative_reached),
      cumulativeEngaged: toNumber(r.cumulative_engaged),
    }),
  );
}
