// A policy's versions as they were published (schema/policy-versions.ts), and what a message
// needs to be rendered again from the version it was sent for.
import { sql } from 'drizzle-orm';
import type { Channel } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';
import type { PolicySnapshot } from '../schema';

/**
 * Records the policy's current version whole, with its department's SMS signature and WeChat
 * template as they are now: called when the version is published (at once, at its scheduled time,
 * or by an amendment). A version already recorded is kept as it was.
 */
export async function recordPolicyVersion(tx: Queryable, policyId: number): Promise<void> {
  await tx.execute(sql`
    insert into policy_versions (policy_id, version, title, summary, url, interpretation_urls, valid_until, snapshot)
    select p.id, p.version, p.title, p.summary, p.url, p.interpretation_urls, p.valid_until,
      jsonb_build_object(
        'docNumber', p.doc_number, 'title', p.title, 'summary', p.summary, 'titleEn', p.title_en, 'summaryEn', p.summary_en,
        'url', p.url, 'interpretationUrls', to_jsonb(p.interpretation_urls), 'categoryIds', to_jsonb(p.category_ids),
        'targetGroupIds', to_jsonb(p.target_group_ids), 'audienceRule', p.audience_rule, 'priority', p.priority,
        -- ISO 8601 in UTC, as the API writes times.
        'publishAt', to_char(p.publish_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'validUntil', to_char(p.valid_until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'department', jsonb_build_object('id', d.id, 'nameZh', d.name_zh, 'nameEn', d.name_en,
          'smsSignature', d.sms_signature, 'wechatTemplate', d.wechat_template))
    from policies p join departments d on d.id = p.department_id
    where p.id = ${policyId}
    on conflict (policy_id, version) do nothing`);
}

/** One recorded version: whole when `snapshot` is there, else only the texts kept before snapshots. */
export interface PolicyVersionRow {
  policyId: number;
  version: number;
  title: string;
  summary: string;
  url: string;
  interpretationUrls: string[];
  validUntil: Date | null;
  snapshot: PolicySnapshot | null;
  /** When it was recorded; null for the current version of a policy published before snapshots. */
  recordedAt: Date | null;
}

const toVersion = (r: Record<string, unknown>): PolicyVersionRow => ({
  policyId: Number(r.policy_id),
  version: Number(r.version),
  title: r.title as string,
  summary: r.summary as string,
  url: r.url as string,
  interpretationUrls: r.interpretation_urls as string[],
  validUntil: r.valid_until ? new Date(r.valid_until as string) : null,
  snapshot: (r.snapshot as PolicySnapshot | null) ?? null,
  recordedAt: r.created_at ? new Date(r.created_at as string) : null,
});

/**
 * Every version of the policy, oldest first. The current version of a policy published before
 * snapshots has no row: it is read from the policy itself (its texts have not changed since, only
 * an amendment changes them), without a snapshot.
 */
export async function listPolicyVersions(db: Queryable, policyId: number): Promise<PolicyVersionRow[]> {
  return rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select policy_id, version, title, summary, url, interpretation_urls, valid_until, snapshot, created_at
      from policy_versions where policy_id = ${policyId}
      union all
      select p.id, p.version, p.title, p.summary, p.url, p.interpretation_urls, p.valid_until, null, null
      from policies p
      where p.id = ${policyId} and p.status <> 'scheduled'
        and not exists (select 1 from policy_versions v where v.policy_id = p.id and v.version = p.version)
      order by version`),
  ).map(toVersion);
}

/** A delivery (in the outbox or the archive) with what its message was rendered from. */
export interface DeliveryToRender {
  id: number;
  policyId: number | null;
  policyVersion: number | null;
  contactId: number;
  channel: Channel;
  kind: string;
  status: string;
  createdAt: Date;
  sentAt: Date | null;
  /** The contact's locale and the address on the delivery's channel, as they are now. */
  locale: string | null;
  address: string | null;
  test: boolean;
}

export async function getDeliveryToRender(db: Queryable, id: number): Promise<DeliveryToRender | undefined> {
  const [r] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select d.id, d.policy_id, d.policy_version, d.contact_id, d.channel, d.kind, d.status, d.created_at, d.sent_at,
        c.locale, case d.channel when 'sms' then c.phone when 'email' then c.email else c.wechat_openid end as address,
        coalesce(p.test, false) as test
      from (
        select id, policy_id, policy_version, contact_id, channel, kind, status, created_at, sent_at from deliveries where id = ${id}
        union all
        select id, policy_id, policy_version, contact_id, channel, kind, status, created_at, sent_at from deliveries_archive where id = ${id}
      ) d
      left join contacts c on c.id = d.contact_id
      left join policies p on p.id = d.policy_id
      limit 1`),
  );
  if (!r) return undefined;
  return {
    id: Number(r.id),
    policyId: r.policy_id === null ? null : Number(r.policy_id),
    policyVersion: r.policy_version === null ? null : Number(r.policy_version),
    contactId: Number(r.contact_id),
    channel: r.channel as DeliveryToRender['channel'],
    kind: r.kind as string,
    status: r.status as string,
    createdAt: new Date(r.created_at as string),
    sentAt: r.sent_at ? new Date(r.sent_at as string) : null,
    locale: (r.locale as string | null) ?? null,
    address: (r.address as string | null) ?? null,
    test: r.test === true,
  };
}

/**
 * The id the next delivery will get (links are as long as the id they sign), for previews: read
 * from the identity's sequence, so deliveries already archived count too. It draws no value.
 */
export async function likelyNextDeliveryId(db: Queryable): Promise<number> {
  const [{ next }] = rowsOf<{ next: string | number }>(
    await db.execute(sql`select coalesce(pg_sequence_last_value(pg_get_serial_sequence('deliveries', 'id')), 0) + 1 as next`),
  );
  return Number(next);
}
