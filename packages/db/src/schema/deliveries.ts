import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, smallint, text, unique, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, createdAt, id, ref, updatedAt } from './columns';

// The outbox: one message to one contact on one channel. The hottest table, so it is kept
// narrow, with few indexes and no foreign keys (each would cost every fan-out insert; contacts
// are erased by anonymising, so delivery history stays countable).
//
// Status machine (ARCHITECTURE.md): pending → sending → sent → delivered | undelivered;
// sending → pending (retry) | failed; pending → cancelled | suppressed; held → digested | cancelled.
export const deliveries = pgTable(
  'deliveries',
  {
    id: id(),
    policyId: ref('policy_id'),
    policyVersion: integer('policy_version'),
    enterpriseId: ref('enterprise_id').notNull(),
    contactId: ref('contact_id').notNull(),
    channel: text('channel').notNull(),
    kind: text('kind').notNull().default('policy'), // policy | update | revocation | digest | confirmation | reminder
    status: text('status').notNull(),
    // 0 = urgent, 1 = normal: part of the claim order and of the pending index from the start.
    priority: smallint('priority').notNull().default(1),
    attempts: smallint('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at').notNull().defaultNow(),
    lockedUntil: at('locked_until'),
    providerMessageId: text('provider_message_id'),
    errorCode: text('error_code'),
    // Why it matched, compactly: ids only.
    matchedCategoryIds: bigint('matched_category_ids', { mode: 'number' }).array(),
    matchedGroupIds: bigint('matched_group_ids', { mode: 'number' }).array(),
    fallbackOf: ref('fallback_of'),
    // The contact's next usable channels, in order: where a failed or undelivered message goes next.
    fallbackChannels: text('fallback_channels').array().notNull().default([]),
    // One address, one message: a delivery to an address that already has this policy is linked
    // to that one instead of being sent again.
    duplicateOf: ref('duplicate_of'),
    // Held deliveries point at the digest they were folded into; a digest names its period.
    digestId: ref('digest_id'),
    digestPeriod: text('digest_period'),
    // Reminders (kind reminder) only: the follow-up step of the policy (reminder_steps) it belongs to.
    // A reminder belongs to the policy, not to a version: its policy_version is null.
    reminderStep: smallint('reminder_step'),
    sentAt: at('sent_at'),
    finishedAt: at('finished_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('deliveries_policy_contact_channel_kind_key').on(t.policyId, t.policyVersion, t.contactId, t.channel, t.kind),
    // The claim walks it once per channel that may send (outbox-queries.ts claimDeliveries).
    index('deliveries_pending_idx')
      .on(t.channel, t.priority, t.nextAttemptAt)
      .where(sql`status = 'pending'`),
    index('deliveries_sending_idx')
      .on(t.lockedUntil)
      .where(sql`status = 'sending'`),
    index('deliveries_held_idx')
      .on(t.digestPeriod)
      .where(sql`status = 'held'`),
    uniqueIndex('deliveries_digest_key')
      .on(t.contactId, t.channel, t.digestPeriod)
      .where(sql`kind = 'digest'`),
    index('deliveries_provider_message_idx')
      .on(t.providerMessageId)
      .where(sql`provider_message_id is not null`),
    // Small partial indexes (only merged and digested rows have these): when a delivery moves, the
    // reach triggers find the rows that share its fate (merged into it, or folded into its digest).
    index('deliveries_duplicate_of_idx')
      .on(t.duplicateOf)
      .where(sql`duplicate_of is not null`),
    // One reminder per contact per step, and where a contact's earlier reminders are found.
    uniqueIndex('deliveries_reminder_key')
      .on(t.policyId, t.contactId, t.reminderStep)
      .where(sql`kind = 'reminder'`),
    index('deliveries_digest_idx')
      .on(t.digestId)
      .where(sql`digest_id is not null`),
  ],
);
