import { integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { at, createdAt, ref } from './columns';
import { policies } from './policies';

// Each earlier version of an amended policy, so an update notice can say what changed.
export const policyVersions = pgTable(
  'policy_versions',
  {
    policyId: ref('policy_id')
      .notNull()
      .references(() => policies.id),
    version: integer('version').notNull(),
    title: text('title').notNull(),
    summary: text('summary').notNull(),
    url: text('url').notNull(),
    interpretationUrls: text('interpretation_urls').array().notNull(),
    validUntil: at('valid_until'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.version] })],
);
