import { integer, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { at, ref } from './columns';

// Reach over time: per policy and hour, how many enterprises became reached and engaged in that
// hour (the hour of reach_enterprises.reached_at / engaged_at). Kept by refreshReach with the
// other counters: a recounted pair's old hour is subtracted and its new one added, so the sum over
// a policy's hours equals its reached and engaged counters. Read by getReachTimeline
// (queries/reach-timeline-queries.ts), never from the deliveries.
export const reachTimeline = pgTable(
  'reach_timeline',
  {
    policyId: ref('policy_id').notNull(),
    hour: at('hour').notNull(),
    reached: integer('reached').notNull().default(0),
    engaged: integer('engaged').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.hour] })],
);
