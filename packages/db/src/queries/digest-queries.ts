// Digests: daily and weekly subscribers' held deliveries are folded into one message per contact
// and channel, listing every policy since the last digest (ARCHITECTURE.md "Delivery states").
import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';
import { bigintArray } from '../sql-arrays';

/**
 * Folds the held deliveries of one frequency into digest deliveries for `period` (e.g.
 * 'daily:2026-11-27'): one per contact and channel, the held rows pointing at it. Policies no
 * longer published drop out. Returns how many digests were made. 'catch-up' folds a newcomer's
 * late matches (catch-up-queries.ts) at once, the same way.
 */
export async function foldDigests(db: Queryable, frequency: 'daily' | 'weekly' | 'catch-up', period: string): Promise<number> {
  const rows = rowsOf<{ n: number }>(
    await db.execute(sql`
      with held as (
        select d.id, d.enterprise_id, d.contact_id, d.channel
        from deliveries d join policies p on p.id = d.policy_id and p.version = d.policy_version and p.status = 'published'
          and not p.test
        where d.status = 'held' and d.digest_period = ${frequency}
      ), digests as (
        insert into deliveries (enterprise_id, contact_id, channel, kind, status, priority, digest_period)
        select distinct on (contact_id, channel) enterprise_id, contact_id, channel, 'digest', 'pending', 1, ${period}
        from held
        order by contact_id, channel, id
        on conflict do nothing
        returning id, contact_id, channel
      ), folded as (
        update deliveries d set status = 'digested', digest_id = g.id, updated_at = now()
        from held h join digests g on g.contact_id = h.contact_id and g.channel = h.channel
        where d.id = h.id
        returning 1
      )
      select count(*)::int as n from digests`),
  );
  return rows[0].n;
}

export interface DigestItem {
  digestId: number;
  policyId: number;
  title: string;
  titleEn: string | null;
  url: string;
  department: {
    nameZh: string;
    nameEn: string;
    smsSignature: string;
    wechatTemplate: WechatTemplate | null;
  };
}

/** A department's WeChat template as messages use it (departments.wechat_template, or a version's snapshot of it). */
export interface WechatTemplate {
  templateId: string;
  fields: { key: string; type: string }[];
}

export function toWechatTemplate(value: unknown): WechatTemplate {
  const t = value as { templateId?: unknown; fields?: unknown } | null;
  if (
    typeof t?.templateId === 'string' &&
    Array.isArray(t.fields) &&
    t.fields.every((f: { key?: unknown; type?: unknown }) => typeof f?.key === 'string' && typeof f?.type === 'string')
  )
    return { templateId: t.templateId, fields: t.fields };
  throw new TypeError(`row decoder: expected a WeChat template, got ${JSON.stringify(value)}`);
}

/** The policies in each digest that are still published, oldest first. */
export async function loadDigestItems(db: Queryable, digestIds: number[]): Promise<Map<number, DigestItem[]>> {
  const out = new Map<number, DigestItem[]>();
  if (!digestIds.length) return out;
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select distinct on (d.digest_id, p.id) d.digest_id, p.id, p.title, p.title_en, p.url,
        dep.name_zh, dep.name_en, dep.sms_signature, dep.wechat_template
      from deliveries d
      join policies p on p.id = d.policy_id and p.status = 'published'
      join departments dep on dep.id = p.department_id
      where d.digest_id = any(${bigintArray(digestIds)}) and d.status = 'digested'
      order by d.digest_id, p.id`),
  );
  for (const r of rows) {
    const digestId = Number(r.digest_id);
    const items = out.get(digestId) ?? [];
    items.push({
      digestId,
      policyId: Number(r.id),
      title: r.title as string,
      titleEn: r.title_en as string | null,
      url: r.url as string,
      department: {
        nameZh: r.name_zh as string,
        nameEn: r.name_en as string,
        smsSignature: r.sms_signature as string,
        wechatTemplate: (r.wechat_template as DigestItem['department']['wechatTemplate']) ?? null,
      },
    });
    out.set(digestId, items);
  }
  return out;
}
