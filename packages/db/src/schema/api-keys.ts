import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { at, createdAt, id } from './columns';

// The secret is never stored: only its SHA-256, found through a public prefix.
export const apiKeys = pgTable('api_keys', {
  id: id(),
  name: text('name').notNull(),
  prefix: text('prefix').notNull().unique(),
  secretHash: text('secret_hash').notNull(),
  // For a key made from ADMIN_API_KEY: the SHA-256 of that setting, kept through rotation and
  // revocation, so that a later start recognises the setting and never makes the key again.
  bootstrapHash: text('bootstrap_hash').unique(),
  // admin | publisher | enterprise | ops
  role: text('role').notNull().default('admin'),
  // live | test: a test key's policies go through the sandbox only, whatever is configured.
  mode: text('mode').notNull().default('live'),
  // The departments a publisher key acts for, or the enterprise an enterprise key is.
  departmentIds: bigint('department_ids', { mode: 'number' }).array().notNull().default([]),
  enterpriseId: bigint('enterprise_id', { mode: 'number' }),
  lastUsedAt: at('last_used_at'),
  revokedAt: at('revoked_at'),
  createdAt: createdAt(),
});
