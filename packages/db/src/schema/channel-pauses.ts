import { pgTable, text } from 'drizzle-orm/pg-core';
import { at } from './columns';

// A channel paused by its provider (429 Retry-After, a daily quota): no replica claims its
// deliveries until the pause ends, so no attempt is burnt against a closed door.
export const channelPauses = pgTable('channel_pauses', {
  channel: text('channel').primaryKey(),
  pausedUntil: at('paused_until').notNull(),
  reason: text('reason').notNull(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});
