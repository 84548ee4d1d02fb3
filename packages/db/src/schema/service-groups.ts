import type { AudienceRule } from '@policy-push/core';
import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, ref, updatedAt } from './columns';
import { departments } from './departments';

// A targeted audience (服务对象群组): a rule over enterprise attributes, or (rule null) a static list.
export const serviceGroups = pgTable('service_groups', {
  id: id(),
  departmentId: ref('department_id')
    .notNull()
    .references(() => departments.id),
  name: text('name').notNull(),
  description: text('description'),
  rule: jsonb('rule').$type<AudienceRule>(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});
