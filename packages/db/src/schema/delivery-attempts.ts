import { index, integer, jsonb, pgTable, smallint, text } from 'drizzle-orm/pg-core';
import { createdAt, id, ref } from './columns';

// Insert-only: one row per provider call.
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: id(),
    deliveryId: ref('delivery_id').notNull(),
    attempt: smallint('attempt').notNull(),
    outcome: text('outcome').notNull(), // accepted | retryable | permanent
    // The adapter's provider name (twilio, wechat, smtp, sandbox…); null for attempts recorded before it was kept.
    provider: text('provider'),
    providerCode: text('provider_code'),
    providerMessageId: text('provider_message_id'),
    error: text('error'),
    latencyMs: integer('latency_ms').notNull(),
    worker: text('worker').notNull(),
    response: jsonb('response'),
    createdAt: createdAt(),
  },
  (t) => [index('delivery_attempts_delivery_idx').on(t.deliveryId)],
);
