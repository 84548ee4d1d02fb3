import { boolean, index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { at, createdAt, id, ref } from './columns';

// Catch-up for newcomers (issue 15): an enterprise that subscribed, or whose profile changed, and
// so came to match a policy already in force after its fan-out. One row per (policy, enterprise),
// written once: the key is what makes a second subscription or profile change catch nothing up
// twice. From then on the enterprise counts as targeted by the policy, marked as a late match
// (reach_enterprises.late_match). notified: it was sent in a catch-up message (its actionBy was
// still ahead); otherwise it is listed in the enterprise's inbox only.
export const lateMatches = pgTable(
  'late_matches',
  {
    policyId: ref('policy_id').notNull(),
    enterpriseId: ref('enterprise_id').notNull(),
    notified: boolean('notified').notNull(),
    matchedAt: at('matched_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.enterpriseId] }), index('late_matches_enterprise_idx').on(t.enterpriseId)],
);

// The catch-up work queue: enterprises that subscribed or whose profile changed, appended by
// triggers on subscriptions and enterprises (migration 0022) in the transaction of the change, so
// a crash loses nothing; consumed, by deleting, by the dispatcher's catch-up job (catchUpNewcomers).
export const catchUpQueue = pgTable('catch_up_queue', {
  id: id(),
  enterpriseId: ref('enterprise_id').notNull(),
  createdAt: createdAt(),
});
