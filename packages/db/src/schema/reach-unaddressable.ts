import { pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ref, updatedAt } from './columns';

// The enterprises a policy matched (subscription and audience) that got no delivery, because none
// of their contacts was reachable on a channel they accept, with why (UNADDRESSABLE_REASONS in
// @policy-push/core). Written by the fan-out in the same statement as the deliveries (one row per
// enterprise, queued for the reach refresher), so that "targeted" counts every matched enterprise.
export const reachUnaddressable = pgTable(
  'reach_unaddressable',
  {
    policyId: ref('policy_id').notNull(),
    enterpriseId: ref('enterprise_id').notNull(),
    reason: text('reason').notNull(), // no_contact | no_address | opted_out | email_unconfirmed
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.enterpriseId] })],
);
