import { index, pgTable, text } from 'drizzle-orm/pg-core';
import { apiKeys } from './api-keys';
import { at, createdAt, ref } from './columns';

// A console sign-in. The cookie names the row; the row names the key and the key's secret as it
// was at sign-in, so rotating the key ends its sessions, and signing out deletes the row.
export const opsSessions = pgTable(
  'ops_sessions',
  {
    id: text('id').primaryKey(),
    apiKeyId: ref('api_key_id')
      .notNull()
      .references(() => apiKeys.id, { onDelete: 'cascade' }),
    keySecretHash: text('key_secret_hash').notNull(),
    expiresAt: at('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('ops_sessions_expires_idx').on(t.expiresAt)],
);
