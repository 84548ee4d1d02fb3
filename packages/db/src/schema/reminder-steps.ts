import { sql } from 'drizzle-orm';
import { index, integer, pgTable, primaryKey, smallint, text } from 'drizzle-orm/pg-core';
import { at, createdAt, ref, updatedAt } from './columns';

// A policy's follow-up plan (issue 15), one row per step: remind the enterprises not yet engaged
// at due_at. Steps belong to the policy, not to a version. A step is planned until a dispatcher
// takes it (done) or the policy is revoked or expires (cancelled); re-planning moves only planned
// steps. due_at is computed from the anchor: publish_at + offset, or action_by - offset.
export const reminderSteps = pgTable(
  'reminder_steps',
  {
    policyId: ref('policy_id').notNull(),
    step: smallint('step').notNull(),
    anchor: text('anchor').notNull(), // publish | action_by
    offsetHours: integer('offset_hours').notNull(),
    dueAt: at('due_at').notNull(),
    status: text('status').notNull().default('planned'), // planned | done | cancelled
    doneAt: at('done_at'),
    // How many reminders the step created (one per contact address not yet engaged).
    reminders: integer('reminders').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.policyId, t.step] }),
    index('reminder_steps_due_idx')
      .on(t.dueAt)
      .where(sql`status = 'planned'`),
  ],
);
