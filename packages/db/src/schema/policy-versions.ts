import { integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { at, createdAt, ref } from './columns';
import type { WechatTemplateConfig } from './departments';
import { policies } from './policies';

/** The whole policy as one version was published, and its department's sending identity then. */
export interface PolicySnapshot {
  docNumber: string;
  title: string;
  summary: string;
  titleEn: string | null;
  summaryEn: string | null;
  url: string;
  interpretationUrls: string[];
  categoryIds: number[];
  targetGroupIds: number[];
  audienceRule: unknown;
  priority: string;
  publishAt: string;
  validUntil: string | null;
  department: {
    id: number;
    nameZh: string;
    nameEn: string;
    smsSignature: string;
    wechatTemplate: WechatTemplateConfig | null;
  };
}

// Every version of a policy: since migration 0014 each is recorded whole when it is published
// (`snapshot`), so a message can be shown as it was sent and an update notice can say what changed.
// Versions recorded before then were written only when they were amended away, with the texts
// below and no snapshot: they answer with what they have.
export const policyVersions = pgTable(
  'policy_versions',
  {
    policyId: ref('policy_id')
      .notNull()
      .references(() => policies.id),
    version: integer('version').notNull(),
    title: text('title').notNull(),
    summary: text('summary').notNull(),
    url: text('url').notNull(),
    interpretationUrls: text('interpretation_urls').array().notNull(),
    validUntil: at('valid_until'),
    /** Null for versions recorded before snapshots were kept. */
    snapshot: jsonb('snapshot').$type<PolicySnapshot>(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.version] })],
);
