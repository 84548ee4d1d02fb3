import type { AudienceRule } from '@policy-push/core';
import { bigint, boolean, integer, jsonb, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { at, createdAt, id, ref, updatedAt } from './columns';
import { departments } from './departments';

export const policies = pgTable(
  'policies',
  {
    id: id(),
    departmentId: ref('department_id')
      .notNull()
      .references(() => departments.id),
    docNumber: text('doc_number').notNull(),
    title: text('title').notNull(),
    summary: text('summary').notNull(),
    titleEn: text('title_en'),
    summaryEn: text('summary_en'),
    url: text('url').notNull(),
    interpretationUrls: text('interpretation_urls').array().notNull().default([]),
    categoryIds: bigint('category_ids', { mode: 'number' }).array().notNull().default([]),
    targetGroupIds: bigint('target_group_ids', { mode: 'number' }).array().notNull().default([]),
    audienceRule: jsonb('audience_rule').$type<AudienceRule>(),
    priority: text('priority').notNull().default('normal'), // normal | urgent
    // scheduled → published; revoked and expired come with the lifecycle work.
    status: text('status').notNull().default('published'),
    version: integer('version').notNull().default(1),
    publishAt: at('publish_at').notNull().defaultNow(),
    validUntil: at('valid_until'),
    // The enterprise must act by then (a subsidy window, a declaration period): follow-ups are
    // planned against it, and a newcomer's catch-up message is sent only while it is ahead.
    actionBy: at('action_by'),
    // Published with a test key: its deliveries go through the sandbox only.
    test: boolean('test').notNull().default(false),
    revokedAt: at('revoked_at'),
    revokeReason: text('revoke_reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique('policies_department_doc_number_key').on(t.departmentId, t.docNumber)],
);
