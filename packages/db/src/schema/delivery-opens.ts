import { integer, pgTable } from 'drizzle-orm/pg-core';
import { at, ref } from './columns';

// Engagement: the first and last time the recipient opened a message's link (the signed `/r/`
// redirect), one row per delivery. Kept apart from deliveries so a click never rewrites a row of
// the hottest table, and so "opened" is counted once per delivery however often it is clicked.
export const deliveryOpens = pgTable('delivery_opens', {
  deliveryId: ref('delivery_id').primaryKey(),
  firstOpenedAt: at('first_opened_at').notNull(),
  lastOpenedAt: at('last_opened_at').notNull(),
  opens: integer('opens').notNull().default(1),
  // The first open that counts as a person (core/engagement.ts machineOpen): null while every open
  // was a mail gateway's scan (a HEAD, a known scanner, or within a minute of the send). Reach
  // counts engagement from this, never from first_opened_at.
  engagedAt: at('engaged_at'),
  // Of `opens`, those that were machines: recorded, never counted as engagement.
  machineOpens: integer('machine_opens').notNull().default(0),
});
