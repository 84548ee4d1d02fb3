// Digests: daily and weekly subscribers' held deliveries are folded into one message per contact
// and channel, listing every policy since the last digest (ARCHITECTURE.md "Delivery states").
import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { alias } from 'drizzle-orm/pg-core';
import { decodeRows, orNull, toNumber, toText } from '../rows';
import { deliveries, departments, policies } from '../schema';
import { bigintArray } from '../sql-arrays';
import { bare } from '../sql-names';

/**
 * Folds the held deliveries of one frequency into digest deliveries for `period` (e.g.
 * 'daily:2026-11-27'): one per contact and channel, the held rows pointing at it. Policies no
 * longer published drop out. Returns how many digests were made. 'catch-up' folds a newcomer's
 * late matches (catch-up-queries.ts) at once, the same way.
 */
export async function foldDigests(db: Queryable, frequency: 'daily' | 'weekly' | 'catch-up', period: string): Promise<number> {
  // Joins by hash whatever the statistics say: they are the outbox between pushes, with next to
  // nothing held, and believing so the planner matched every held row against every digest in a
  // nested loop (a city's daily digest, 372,699 held rows, ran for minutes without finishing; now
  // ~12 s for 248,708). Nested loops and JIT are off for this statement, in a transaction of its
  // own or the caller's (then restored).
  return db.transaction(async (tx) => {
    const [was] = decodeRows(
      await tx.execute(sql`
        select current_setting('enable_nestloop') as nestloop, current_setting('jit') as jit,
          set_config('enable_nestloop', 'off', true), set_config('jit', 'off', true)`),
      (r) => ({ nestloop: toText(r.nestloop), jit: toText(r.jit) }),
    );
    const folded = await foldStatement(tx, frequency, period);
    await tx.execute(sql`select set_config('enable_nestloop', ${was.nestloop}, true), set_config('jit', ${was.jit}, true)`);
    return folded;
  });
}

async function foldStatement(db: Queryable, frequency: string, period: string): Promise<number> {
  const d = deliveries;
  const p = policies;
  // The held deliveries and the digests made, CTEs of deliveries rows: aliases name their columns.
  const held = alias(deliveries, 'held');
  const made = alias(deliveries, 'digests');
  const [folded] = decodeRows(
    await db.execute(sql`
      with held as (
        select ${d.id}, ${d.enterpriseId}, ${d.contactId}, ${d.channel}
        from ${d} join ${p} on ${p.id} = ${d.policyId} and ${p.version} = ${d.policyVersion} and ${p.status} = 'published'
          and not ${p.test}
        where ${d.status} = 'held' and ${d.digestPeriod} = ${frequency}
      ), digests as (
        insert into ${d} (${bare(d.enterpriseId)}, ${bare(d.contactId)}, ${bare(d.channel)}, ${bare(d.kind)}, ${bare(d.status)},
          ${bare(d.priority)}, ${bare(d.digestPeriod)})
        select distinct on (${held.contactId}, ${held.channel}) ${held.enterpriseId}, ${held.contactId}, ${held.channel}, 'digest',
          'pending', 1, ${period}
        from held
        order by ${held.contactId}, ${held.channel}, ${held.id}
        on conflict do nothing
        returning ${d.id}, ${d.contactId}, ${d.channel}
      ), folded as (
        update ${d} set ${bare(d.status)} = 'digested', ${bare(d.digestId)} = m.digest_id, ${bare(d.updatedAt)} = now()
        from (
          select ${held.id}, ${made.id} as digest_id
          from held join digests on ${made.contactId} = ${held.contactId} and ${made.channel} = ${held.channel}
        ) m
        -- By key as well: with nested loops off, a join alone would read the whole outbox.
        where ${d.id} = m.id and ${d.id} = any(array(select id from held))
        returning 1
      )
      select count(*)::int as n from digests`),
    (r) => toNumber(r.n),
  );
  return folded;
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
  const d = deliveries;
  const p = policies;
  const dep = departments;
  const rows = decodeRows(
    await db.execute(sql`
      select distinct on (${d.digestId}, ${p.id}) ${d.digestId}, ${p.id}, ${p.title}, ${p.titleEn}, ${p.url},
        ${dep.nameZh}, ${dep.nameEn}, ${dep.smsSignature}, ${dep.wechatTemplate}
      from ${d}
      join ${p} on ${p.id} = ${d.policyId} and ${p.status} = 'published'
      join ${dep} on ${dep.id} = ${p.departmentId}
      where ${d.digestId} = any(${bigintArray(digestIds)}) and ${d.status} = 'digested'
      order by ${d.digestId}, ${p.id}`),
    (r): DigestItem => ({
      digestId: toNumber(r.digest_id),
      policyId: toNumber(r.id),
      title: toText(r.title),
      titleEn: orNull(toText, r.title_en),
      url: toText(r.url),
      department: {
        nameZh: toText(r.name_zh),
        nameEn: toText(r.name_en),
        smsSignature: toText(r.sms_signature),
        wechatTemplate: orNull(toWechatTemplate, r.wechat_template),
      },
    }),
  );
  for (const item of rows) out.set(item.digestId, [...(out.get(item.digestId) ?? []), item]);
  return out;
}
