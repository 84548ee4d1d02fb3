import { pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt } from './columns';

// Secrets the service makes for itself when none is configured (the link-signing key), so signed
// links survive restarts and are the same for every replica.
export const serviceSecrets = pgTable('service_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
});
