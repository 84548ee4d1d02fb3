import { index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, ref } from './columns';

// Who did what, when, from where: every publish, amend, revoke, retry, key change and import.
// Insert-only; no API edits or deletes it.
export const auditLog = pgTable(
  'audit_log',
  {
    id: id(),
    apiKeyId: ref('api_key_id'),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id'),
    details: jsonb('details'),
    ip: text('ip'),
    createdAt: createdAt(),
  },
  (t) => [index('audit_log_created_idx').on(t.createdAt)],
);
