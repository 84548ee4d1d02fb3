import { pgTable, text } from 'drizzle-orm/pg-core';
import { at, createdAt, id } from './columns';

// The secret is never stored: only its SHA-256, found through a public prefix.
export const apiKeys = pgTable('api_keys', {
  id: id(),
  name: text('name').notNull(),
  prefix: text('prefix').notNull().unique(),
  secretHash: text('secret_hash').notNull(),
  role: text('role').notNull().default('admin'),
  lastUsedAt: at('last_used_at'),
  revokedAt: at('revoked_at'),
  createdAt: createdAt(),
});
