import { bigint, timestamp } from 'drizzle-orm/pg-core';

// Shared column helpers: every table has a bigint identity key (exposed as a string by the API)
// and timestamps with time zone, so times always carry their offset.
export const id = () => bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity();
export const ref = (name: string) => bigint(name, { mode: 'number' });
export const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
export const at = (name: string) => timestamp(name, { withTimezone: true });
