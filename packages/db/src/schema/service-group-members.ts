import { index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { ref } from './columns';
import { enterprises } from './enterprises';
import { serviceGroups } from './service-groups';

export const serviceGroupMembers = pgTable(
  'service_group_members',
  {
    groupId: ref('group_id')
      .notNull()
      .references(() => serviceGroups.id, { onDelete: 'cascade' }),
    enterpriseId: ref('enterprise_id')
      .notNull()
      .references(() => enterprises.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.enterpriseId] }), index('service_group_members_enterprise_idx').on(t.enterpriseId)],
);
