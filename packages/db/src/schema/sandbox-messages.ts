import { index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, ref } from './columns';

// What the sandbox adapters would have sent, rendered for real, for ops to read.
export const sandboxMessages = pgTable(
  'sandbox_messages',
  {
    id: id(),
    deliveryId: ref('delivery_id').notNull(),
    channel: text('channel').notNull(),
    recipient: text('recipient').notNull(),
    content: jsonb('content').notNull(),
    outcome: text('outcome').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('sandbox_messages_delivery_idx').on(t.deliveryId)],
);
