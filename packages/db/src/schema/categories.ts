import { type AnyPgColumn, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, ref } from './columns';

// Hierarchical: a subscription to a parent category covers its children.
export const categories = pgTable('categories', {
  id: id(),
  code: text('code').notNull().unique(),
  parentId: ref('parent_id').references((): AnyPgColumn => categories.id),
  nameZh: text('name_zh').notNull(),
  nameEn: text('name_en').notNull(),
  createdAt: createdAt(),
});
