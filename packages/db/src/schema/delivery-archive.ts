import { bigint, index, integer, jsonb, pgTable, smallint, text } from 'drizzle-orm/pg-core';
import { at } from './columns';

// Where settled deliveries of finished policies go (queries/archive-queries.ts moves them in small
// batches), so the outbox stays small and fast. One file for the four tables because they are
// copies: each has every column of its live table, with the same name and type, so a batch moves
// rows with a plain INSERT … SELECT (packages/db/test/archive.test.ts checks they stay alike).
// Keys are plain bigints (the ids the rows had), and there are only the indexes that the delivery
// log and erasure read by.

export const deliveriesArchive = pgTable(
  'deliveries_archive',
  {
    id: bigint('id', { mode: 'number' }).primaryKey(),
    policyId: bigint('policy_id', { mode: 'number' }),
    policyVersion: integer('policy_version'),
    enterpriseId: bigint('enterprise_id', { mode: 'number' }).notNull(),
    contactId: bigint('contact_id', { mode: 'number' }).notNull(),
    channel: text('channel').notNull(),
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    priority: smallint('priority').notNull(),
    attempts: smallint('attempts').notNull(),
    nextAttemptAt: at('next_attempt_at').notNull(),
    lockedUntil: at('locked_until'),
    providerMessageId: text('provider_message_id'),
    errorCode: text('error_code'),
    matchedCategoryIds: bigint('matched_category_ids', { mode: 'number' }).array(),
    matchedGroupIds: bigint('matched_group_ids', { mode: 'number' }).array(),
    fallbackOf: bigint('fallback_of', { mode: 'number' }),
    fallbackChannels: text('fallback_channels').array().notNull(),
    duplicateOf: bigint('duplicate_of', { mode: 'number' }),
    digestId: bigint('digest_id', { mode: 'number' }),
    digestPeriod: text('digest_period'),
    sentAt: at('sent_at'),
    finishedAt: at('finished_at'),
    createdAt: at('created_at').notNull(),
    updatedAt: at('updated_at').notNull(),
    // When the row left the outbox: archives older than ARCHIVE_RETENTION_DAYS are purged by it.
    archivedAt: at('archived_at').notNull().defaultNow(),
  },
  (t) => [
    // Erasure finds a contact's archived deliveries; purging finds the oldest.
    index('deliveries_archive_contact_idx').on(t.contactId),
    index('deliveries_archive_archived_idx').on(t.archivedAt),
  ],
);

export const deliveryAttemptsArchive = pgTable(
  'delivery_attempts_archive',
  {
    id: bigint('id', { mode: 'number' }).primaryKey(),
    deliveryId: bigint('delivery_id', { mode: 'number' }).notNull(),
    attempt: smallint('attempt').notNull(),
    outcome: text('outcome').notNull(),
    provider: text('provider'),
    providerCode: text('provider_code'),
    providerMessageId: text('provider_message_id'),
    error: text('error'),
    latencyMs: integer('latency_ms').notNull(),
    worker: text('worker').notNull(),
    response: jsonb('response'),
    createdAt: at('created_at').notNull(),
  },
  (t) => [index('delivery_attempts_archive_delivery_idx').on(t.deliveryId)],
);

export const deliveryEventsArchive = pgTable(
  'delivery_events_archive',
  {
    id: bigint('id', { mode: 'number' }).primaryKey(),
    deliveryId: bigint('delivery_id', { mode: 'number' }),
    channel: text('channel').notNull(),
    providerMessageId: text('provider_message_id'),
    type: text('type').notNull(),
    errorCode: text('error_code'),
    payload: jsonb('payload'),
    occurredAt: at('occurred_at').notNull(),
    createdAt: at('created_at').notNull(),
  },
  (t) => [index('delivery_events_archive_delivery_idx').on(t.deliveryId)],
);

export const deliveryOpensArchive = pgTable('delivery_opens_archive', {
  deliveryId: bigint('delivery_id', { mode: 'number' }).primaryKey(),
  firstOpenedAt: at('first_opened_at').notNull(),
  lastOpenedAt: at('last_opened_at').notNull(),
  opens: integer('opens').notNull(),
  engagedAt: at('engaged_at'),
  machineOpens: integer('machine_opens').notNull(),
});
