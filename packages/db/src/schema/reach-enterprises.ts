import { bigint, boolean, index, pgTable, primaryKey, smallint, text } from 'drizzle-orm/pg-core';
import { at, ref, updatedAt } from './columns';

// How far one policy got with one enterprise, as last counted into reach_rollup: per funnel stage,
// a bit per channel that got there (wechat 1, sms 2, email 4). The refresher subtracts a pair's old
// row from the counters and adds its recomputed one, so the counters are exact sums of these rows.
// The enterprise's district, section and size are kept as counted, so the subtraction hits the
// counters the addition went to even after the enterprise changed.
export const reachEnterprises = pgTable(
  'reach_enterprises',
  {
    policyId: ref('policy_id').notNull(),
    enterpriseId: ref('enterprise_id').notNull(),
    district: text('district').notNull(),
    industrySection: text('industry_section').notNull(),
    size: text('size').notNull(),
    targeted: smallint('targeted').notNull().default(0),
    withDelivery: smallint('with_delivery').notNull().default(0),
    sent: smallint('sent').notNull().default(0),
    delivered: smallint('delivered').notNull().default(0),
    reached: smallint('reached').notNull().default(0),
    // Bit 8 besides the channel bits: engaged other than by opening a policy delivery (a read in
    // the inbox, an opened update or reminder), so it counts under 'all' only.
    engaged: smallint('engaged').notNull().default(0),
    // When the pair first became reached / engaged, as counted into reach_timeline (null while not).
    reachedAt: at('reached_at'),
    engagedAt: at('engaged_at'),
    // Follow-ups (deliveries of kind 'reminder'): how many were sent to it, and when the first one went.
    remindersSent: smallint('reminders_sent').notNull().default(0),
    remindedAt: at('reminded_at'),
    // Matched but without a delivery: why (reach_unaddressable); null when it has one.
    unaddressable: text('unaddressable'),
    // Matched late (late_matches): it subscribed or its profile changed after the policy went out,
    // and was caught up. Counts as targeted (under 'all' even without a delivery: inbox only).
    lateMatch: boolean('late_match').notNull().default(false),
    // One 'channel:error code' per delivery that ended failed or undelivered.
    failures: text('failures').array().notNull().default([]),
    // The policy deliveries this pair is counted from: a recount reads them by primary key, so it
    // needs no index on (policy, enterprise) in the outbox and still finds the deliveries of a
    // contact deleted since.
    deliveryIds: bigint('delivery_ids', { mode: 'number' }).array().notNull().default([]),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.policyId, t.enterpriseId] }),
    // The policies one enterprise received (the console's enterprise page, and the delivery log
    // searched by recipient or enterprise): a look-up here, never a scan of the outbox.
    index('reach_enterprises_enterprise_idx').on(t.enterpriseId),
  ],
);
