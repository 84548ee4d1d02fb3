import { integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ref } from './columns';

// Why messages of a policy did not arrive: its deliveries that ended failed or undelivered, by
// channel and provider error code ('unknown' when the provider gave none). Maintained with
// reach_rollup by refreshReach (queries/reach-queries.ts).
export const reachFailures = pgTable(
  'reach_failures',
  {
    policyId: ref('policy_id').notNull(),
    channel: text('channel').notNull(),
    errorCode: text('error_code').notNull(),
    deliveries: integer('deliveries').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.channel, t.errorCode] })],
);
