import { bigint, boolean, index, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, ref, updatedAt } from './columns';
import { enterprises } from './enterprises';

export const subscriptions = pgTable(
  'subscriptions',
  {
    id: id(),
    enterpriseId: ref('enterprise_id')
      .notNull()
      .references(() => enterprises.id, { onDelete: 'cascade' }),
    // Arrays rather than link tables: matching reads them per enterprise, with && and ANY.
    categoryIds: bigint('category_ids', { mode: 'number' }).array().notNull().default([]),
    departmentIds: bigint('department_ids', { mode: 'number' }).array().notNull().default([]),
    channels: text('channels').array().notNull().default([]),
    frequency: text('frequency').notNull().default('immediate'),
    active: boolean('active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('subscriptions_enterprise_idx').on(t.enterpriseId)],
);
