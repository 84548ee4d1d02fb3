import { pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { at, ref } from './columns';

// The inbox (the preferences page): a contact opened a policy there. Read/unread is per contact;
// engagement in reach is per (policy, enterprise), so a read by any of its contacts engages the
// enterprise (queries/inbox-queries.ts queues the pair for the reach refresher).
export const policyReads = pgTable(
  'policy_reads',
  {
    policyId: ref('policy_id').notNull(),
    enterpriseId: ref('enterprise_id').notNull(),
    contactId: ref('contact_id').notNull(),
    readAt: at('read_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.enterpriseId, t.contactId] })],
);
