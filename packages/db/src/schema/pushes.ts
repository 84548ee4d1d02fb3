import { boolean, integer, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { at, createdAt, id, ref, updatedAt } from './columns';
import { policies } from './policies';

// One fan-out of one policy version. The checkpoint is the last enterprise id done, so a crashed
// fan-out resumes where it stopped; pushing the same version again reuses this row.
export const pushes = pgTable(
  'pushes',
  {
    id: id(),
    policyId: ref('policy_id')
      .notNull()
      .references(() => policies.id),
    policyVersion: integer('policy_version').notNull(),
    status: text('status').notNull().default('scheduled'), // scheduled | fanning_out | fanned_out
    urgent: integer('urgent').notNull().default(0),
    checkpoint: ref('checkpoint').notNull().default(0),
    matched: integer('matched').notNull().default(0),
    // Whether this push recorded the matched enterprises it could not address (reach_unaddressable).
    // False for pushes fanned out before it did: their policies' funnels count only enterprises with
    // a delivery as targeted, and say so (addressableKnown: false).
    recordsUnaddressable: boolean('records_unaddressable').notNull().default(true),
    startAt: at('start_at').notNull().defaultNow(),
    fannedOutAt: at('fanned_out_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique('pushes_policy_version_key').on(t.policyId, t.policyVersion)],
);
