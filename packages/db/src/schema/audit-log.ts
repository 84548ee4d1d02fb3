import { index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, ref } from './columns';

// Who did what, when, from where: every write through the API, and a recipient's own changes.
// Insert-only; no API edits or deletes it.
export const auditLog = pgTable(
  'audit_log',
  {
    id: id(),
    // key: the API key apiKeyId (a request or a console session); recipient: the contact the
    // subject names, acting through their own signed link, an SMS STOP or a WeChat unfollow;
    // system: the service itself (the key made from ADMIN_API_KEY).
    actor: text('actor').notNull().default('key'),
    apiKeyId: ref('api_key_id'),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id'),
    details: jsonb('details'),
    ip: text('ip'),
    createdAt: createdAt(),
  },
  (t) => [
    index('audit_log_created_idx').on(t.createdAt),
    // What was done to one thing (an enterprise's consent history on the console).
    index('audit_log_subject_idx').on(t.subjectType, t.subjectId),
  ],
);
