import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns';

export interface WechatTemplateConfig {
  templateId: string;
  fields: { key: string; type: 'thing' | 'character_string' | 'number' | 'letter' | 'phrase' | 'time' | 'date' | 'keyword' }[];
}

export const departments = pgTable('departments', {
  id: id(),
  code: text('code').notNull().unique(),
  nameZh: text('name_zh').notNull(),
  nameEn: text('name_en').notNull(),
  smsSignature: text('sms_signature').notNull(),
  wechatTemplate: jsonb('wechat_template').$type<WechatTemplateConfig>(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});
