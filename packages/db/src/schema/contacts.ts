import { sql } from 'drizzle-orm';
import { CHANNELS } from '@policy-push/core';
import { boolean, index, pgTable, text } from 'drizzle-orm/pg-core';
import { at, createdAt, id, ref, updatedAt } from './columns';
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
    channels: text('channels')
      .array()
      .notNull()
      .default([...CHANNELS]),
    optedOut: text('opted_out').array().notNull().default([]),
    suppressed: boolean('suppressed').notNull().default(false),
    // How and when consent to be contacted was given: imported, self-service or agency-entered.
    consentSource: text('consent_source').notNull().default('agency-entered'),
    consentAt: at('consent_at').notNull().defaultNow(),
    // Set when the address was confirmed by a link, where a deployment asks for it before bulk email.
    emailConfirmedAt: at('email_confirmed_at'),
    // The contact's own quiet hours, 'HH:MM-HH:MM' in Asia/Shanghai; null = the deployment's.
    quietHours: text('quiet_hours'),
    // The contact turned follow-up reminders off on the preferences page (issue 15).
    remindersOff: boolean('reminders_off').notNull().default(false),
    // Set when the contact's personal data was erased on request: its addresses and name are gone
    // and it is never matched again; its deliveries stay, so the statistics still count them.
    erasedAt: at('erased_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('contacts_enterprise_idx').on(t.enterpriseId),
    // One address, one message: fan-out finds the other contacts sharing an address.
    index('contacts_phone_idx').on(t.phone),
    index('contacts_email_idx').on(sql`lower(${t.email})`),
    index('contacts_wechat_openid_idx').on(t.wechatOpenid),
  ],
);
