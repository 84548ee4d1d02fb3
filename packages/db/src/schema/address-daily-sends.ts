import { date, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

// Pushes sent to one address (phone, mailbox, openid) per Beijing day, across all departments,
// for the per-recipient cap. The address is kept as a hash: this table holds no personal data.
export const addressDailySends = pgTable(
  'address_daily_sends',
  {
    addressKey: text('address_key').notNull(),
    day: date('day').notNull(),
    sent: integer('sent').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.addressKey, t.day] })],
);
