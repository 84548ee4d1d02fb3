// Set-based writes for the bulk CSV import: one statement per batch of rows, never one per row.
// Rows travel as ONE jsonb parameter read back with jsonb_to_recordset (JSON arrays become text[]),
// so a batch of 500 rows is one bound value, not 500 × 13.
import { sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { decodeRows, toBoolean, toNumber, toText } from '../rows';
import { bare } from '../sql-names';
import { contacts, enterprises } from '../schema';
import { textArray } from '../sql-arrays';

export interface ImportedEnterprise {
  creditCode: string;
  name: string;
  industrySection: string;
  industryDivision: string | null;
  district: string;
  size: string;
  tags: string[];
}

/** Null fields keep the stored value of a matched contact (and take the column default on a new one). */
export interface ImportedContact {
  enterpriseId: number;
  name: string | null;
  phone: string | null;
  email: string | null;
  wechatOpenid: string | null;
  locale: string | null;
  channels: string[] | null;
}

/**
 * Inserts the enterprises, or updates the one with the same credit code. The credit codes must
 * be distinct within the call (Postgres refuses to update one row twice in a statement).
 * `keepTags`: an update leaves the stored tags alone (the file has no tags column).
 */
export async function upsertEnterprises(
  tx: Queryable,
  rows: ImportedEnterprise[],
  options: { keepTags: boolean },
): Promise<{ id: number; creditCode: string; created: boolean }[]> {
  if (rows.length === 0) return [];
  const input = rows.map((r) => ({
    credit_code: r.creditCode,
    name: r.name,
    industry_section: r.industrySection,
    industry_division: r.industryDivision,
    district: r.district,
    size: r.size,
    tags: r.tags,
  }));
  const e = enterprises;
  return decodeRows(
    await tx.execute(sql`
      with input as (
        select * from jsonb_to_recordset(${JSON.stringify(input)}::jsonb) as r(
          credit_code text, name text, industry_section text, industry_division text, district text, size text, tags text[])
      )
      insert into ${e} (${bare(e.creditCode)}, ${bare(e.name)}, ${bare(e.industrySection)}, ${bare(e.industryDivision)}, ${bare(e.district)},
        ${bare(e.size)}, ${bare(e.tags)})
      select credit_code, name, industry_section, industry_division, district, size, tags
      from input
      on conflict (${bare(e.creditCode)}) do update set
        ${bare(e.name)} = excluded.${bare(e.name)},
        ${bare(e.industrySection)} = excluded.${bare(e.industrySection)},
        ${bare(e.industryDivision)} = excluded.${bare(e.industryDivision)},
        ${bare(e.district)} = excluded.${bare(e.district)},
        ${bare(e.size)} = excluded.${bare(e.size)},
        ${bare(e.tags)} = case when ${options.keepTags}::boolean then ${e.tags} else excluded.${bare(e.tags)} end,
        ${bare(e.updatedAt)} = now()
      -- xmax is 0 on a freshly inserted row version and set on one that ON CONFLICT updated.
      returning ${e.id}, ${e.creditCode}, (xmax = 0) as created`),
    (r) => ({ id: toNumber(r.id), creditCode: toText(r.credit_code), created: toBoolean(r.created) }),
  );
}

/**
 * Each contact updates the contact of its enterprise with the same phone, else the same email,
 * else the same WeChat openid; otherwise it is added with consent_source 'imported'. A matched
 * contact keeps its consent: the import did not give it. At most one contact per enterprise
 * per call.
 */
export async function upsertImportedContacts(tx: Queryable, rows: ImportedContact[]): Promise<{ created: number; updated: number }> {
  if (rows.length === 0) return { created: 0, updated: 0 };
  const input = rows.map((c) => ({
    enterprise_id: c.enterpriseId,
    name: c.name,
    phone: c.phone,
    email: c.email,
    wechat_openid: c.wechatOpenid,
    locale: c.locale,
    channels: c.channels,
  }));
  // The schema's defaults (schema/contacts.ts) for what a new contact leaves out.
  const defaultLocale = contacts.locale.default as string;
  const defaultChannels = contacts.channels.default as string[];
  const [counts] = decodeRows(
    await tx.execute(sql`
      with input as (
        select * from jsonb_to_recordset(${JSON.stringify(input)}::jsonb) as r(
          enterprise_id bigint, name text, phone text, email text, wechat_openid text, locale text, channels text[])
      ),
      matched as (
        select i.*, (
          select c.id from contacts c
          where c.enterprise_id = i.enterprise_id
            and (c.phone = i.phone or lower(c.email) = lower(i.email) or c.wechat_openid = i.wechat_openid)
          order by case when c.phone = i.phone then 0 when lower(c.email) = lower(i.email) then 1 else 2 end, c.id
          limit 1
        ) as contact_id
        from input i
      ),
      updated as (
        update contacts c set
          name = coalesce(m.name, c.name),
          phone = coalesce(m.phone, c.phone),
          email = coalesce(m.email, c.email),
          wechat_openid = coalesce(m.wechat_openid, c.wechat_openid),
          locale = coalesce(m.locale, c.locale),
          channels = coalesce(m.channels, c.channels),
          -- A confirmation was of one address: a new address is unconfirmed.
          email_confirmed_at = case when lower(m.email) <> lower(c.email) then null else c.email_confirmed_at end,
          updated_at = now()
        from matched m
        where c.id = m.contact_id
        returning c.id
      ),
      created as (
        insert into contacts (enterprise_id, name, phone, email, wechat_openid, locale, channels, consent_source)
        select enterprise_id, name, phone, email, wechat_openid, coalesce(locale, ${defaultLocale}),
          coalesce(channels, ${textArray(defaultChannels)}), 'imported'
        from matched
        where contact_id is null
        returning id
      )
      select (select count(*) from created)::int as created, (select count(*) from updated)::int as updated`),
    (r) => ({ created: toNumber(r.created), updated: toNumber(r.updated) }),
  );
  return counts;
}

/** The ids of the enterprises with these (normalised) credit codes; unknown codes are absent. */
export async function enterpriseIdsByCreditCode(db: Queryable, codes: string[]): Promise<Map<string, number>> {
  if (codes.length === 0) return new Map();
  const e = enterprises;
  const ids = decodeRows(
    await db.execute(sql`select ${e.id}, ${e.creditCode} from ${e} where ${e.creditCode} = any(${textArray(codes)})`),
    (r): [string, number] => [toText(r.credit_code), toNumber(r.id)],
  );
  return new Map(ids);
}
