import { integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { at } from './columns';

// Fixed-window counters in the provider's own unit (SMS segments per second, WeChat messages per
// day), shared by all replicas so together they stay within the allowance.
export const rateWindows = pgTable(
  'rate_windows',
  {
    bucket: text('bucket').notNull(),
    windowStart: at('window_start').notNull(),
    used: integer('used').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.bucket, t.windowStart] })],
);
