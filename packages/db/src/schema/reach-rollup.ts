import { integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ref } from './columns';

// The reach funnel, counted: enterprises per policy at each stage, by channel ('all' = on any
// channel), district, industry section and size. A policy has at most a few thousand rows here
// however many deliveries it made, so reach reports read this, never the deliveries.
// Maintained by refreshReach (queries/reach-queries.ts).
export const reachRollup = pgTable(
  'reach_rollup',
  {
    policyId: ref('policy_id').notNull(),
    channel: text('channel').notNull(), // all | wechat | sms | email
    district: text('district').notNull(),
    industrySection: text('industry_section').notNull(),
    size: text('size').notNull(),
    targeted: integer('targeted').notNull().default(0),
    // Targeted with a delivery, i.e. a reachable contact on a channel it accepts; the rest by why
    // not (channel 'all' only: an unaddressable enterprise has no channel).
    addressable: integer('addressable').notNull().default(0),
    noContact: integer('no_contact').notNull().default(0),
    noAddress: integer('no_address').notNull().default(0),
    optedOut: integer('opted_out').notNull().default(0),
    emailUnconfirmed: integer('email_unconfirmed').notNull().default(0),
    withDelivery: integer('with_delivery').notNull().default(0),
    sent: integer('sent').notNull().default(0),
    delivered: integer('delivered').notNull().default(0),
    reached: integer('reached').notNull().default(0),
    engaged: integer('engaged').notNull().default(0),
    // Follow-ups (channel 'all' only): reminder messages sent, enterprises reminded, and of those the
    // ones engaged after their first reminder went out.
    remindersSent: integer('reminders_sent').notNull().default(0),
    reminded: integer('reminded').notNull().default(0),
    engagedAfterReminder: integer('engaged_after_reminder').notNull().default(0),
    // Of the targeted, the enterprises matched late and caught up (late_matches).
    lateMatched: integer('late_matched').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.channel, t.district, t.industrySection, t.size] })],
);
