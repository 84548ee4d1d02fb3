import { pgTable, text } from 'drizzle-orm/pg-core';
import { at } from './columns';

// Access tokens shared by every dispatcher (the WeChat stable token): one refresher at a time.
export const providerTokens = pgTable('provider_tokens', {
  provider: text('provider').primaryKey(),
  token: text('token').notNull(),
  expiresAt: at('expires_at').notNull(),
  refreshedAt: at('refreshed_at').notNull().defaultNow(),
});
