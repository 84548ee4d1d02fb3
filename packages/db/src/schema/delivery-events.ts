import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, createdAt, id, ref } from './columns';

// Receipts and engagement. A receipt is stored by provider message id even when it arrives
// before the send is acked; the ack then applies it.
export const deliveryEvents = pgTable(
  'delivery_events',
  {
    id: id(),
    deliveryId: ref('delivery_id'),
    channel: text('channel').notNull(),
    providerMessageId: text('provider_message_id'),
    type: text('type').notNull(), // sent | delivered | undelivered | failed | clicked | ...
    errorCode: text('error_code'),
    payload: jsonb('payload'),
    occurredAt: at('occurred_at').notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    index('delivery_events_delivery_idx').on(t.deliveryId),
    uniqueIndex('delivery_events_receipt_key')
      .on(t.channel, t.providerMessageId, t.type)
      .where(sql`provider_message_id is not null`),
  ],
);
