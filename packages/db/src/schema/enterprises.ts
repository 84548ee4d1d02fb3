import { pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns';

export const enterprises = pgTable('enterprises', {
  id: id(),
  creditCode: text('credit_code').notNull().unique(),
  name: text('name').notNull(),
  // GB/T 4754 section letter, and optionally a 2-digit division inside it.
  industrySection: text('industry_section').notNull(),
  industryDivision: text('industry_division'),
  // GB/T 2260 district code.
  district: text('district').notNull(),
  size: text('size').notNull(),
  tags: text('tags').array().notNull().default([]),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});
