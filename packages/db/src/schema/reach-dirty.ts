import { pgTable } from 'drizzle-orm/pg-core';
import { createdAt, id, ref } from './columns';

// The reach work queue: deliveries that changed, since the reach counters were last brought up
// to date, in a way the funnel can see, with the (policy, enterprise) pair they count for.
// Written by triggers on deliveries (migration 0008_reach_triggers) and by recordOpen; consumed,
// by deleting, by refreshReach (queries/reach-queries.ts, which explains the design). Append-only
// on the hot path: no unique key, so writers never wait on each other; the refresher folds
// repeats together.
export const reachDirty = pgTable('reach_dirty', {
  id: id(),
  policyId: ref('policy_id').notNull(),
  enterpriseId: ref('enterprise_id').notNull(),
  // Null for a matched enterprise the fan-out found unaddressable (reach_unaddressable).
  deliveryId: ref('delivery_id'),
  createdAt: createdAt(),
});
