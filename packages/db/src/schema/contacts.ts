import { boolean, index, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, ref, updatedAt } from './columns';
import { enterprises } from './enterprises';

export const contacts = pgTable(
  'contacts',
  {
    id: id(),
    enterpriseId: ref('enterprise_id')
      .notNull()
      .references(() => enterprises.id, { onDelete: 'cascade' }),
    name: text('name'),
    phone: text('phone'), // E.164
    email: text('email'),
    wechatOpenid: text('wechat_openid'),
    locale: text('locale').notNull().default('zh-Hans'),
    // The contact's own channel order, used where a subscription names no channels.
    channels: text('channels').array().notNull().default(['wechat', 'sms', 'email']),
    optedOut: text('opted_out').array().notNull().default([]),
    suppressed: boolean('suppressed').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('contacts_enterprise_idx').on(t.enterpriseId)],
);
