// A policy's versions as they were published (schema/policy-versions.ts), and what a message
// needs to be rendered again from the version it was sent for.
import { getTableName, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { type Channel, CHANNELS } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { type RawRow, decodeRows, orNull, toBoolean, toDate, toNumber, toOneOf, toStoredJson, toText, toTextArray } from '../rows';
import { contacts, deliveries, deliveriesArchive, departments, type PolicySnapshot, policies, policyVersions } from '../schema';
import { bare } from '../sql-names';

/**
 * Records the policy's current version whole, with its department's SMS signature and WeChat
 * template as they are now: called when the version is published (at once, at its scheduled time,
 * or by an amendment). A version already recorded is kept as it was.
 */
export async function recordPolicyVersion(tx: Queryable, policyId: number): Promise<void> {
  const v = policyVersions;
  const p = policies;
  const d = departments;
  await tx.execute(sql`
    insert into ${v} (${bare(v.policyId)}, ${bare(v.version)}, ${bare(v.title)}, ${bare(v.summary)}, ${bare(v.url)},
      ${bare(v.interpretationUrls)}, ${bare(v.validUntil)}, ${bare(v.snapshot)})
    select ${p.id}, ${p.version}, ${p.title}, ${p.summary}, ${p.url}, ${p.interpretationUrls}, ${p.validUntil},
      jsonb_build_object(
        'docNumber', ${p.docNumber}, 'title', ${p.title}, 'summary', ${p.summary}, 'titleEn', ${p.titleEn}, 'summaryEn', ${p.summaryEn},
        'url', ${p.url}, 'interpretationUrls', to_jsonb(${p.interpretationUrls}), 'categoryIds', to_jsonb(${p.categoryIds}),
        'targetGroupIds', to_jsonb(${p.targetGroupIds}), 'audienceRule', ${p.audienceRule}, 'priority', ${p.priority},
        -- ISO 8601 in UTC, as the API writes times.
        'publishAt', to_char(${p.publishAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'validUntil', to_char(${p.validUntil} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'department', jsonb_build_object('id', ${d.id}, 'nameZh', ${d.nameZh}, 'nameEn', ${d.nameEn},
          'smsSignature', ${d.smsSignature}, 'wechatTemplate', ${d.wechatTemplate}))
    from ${p} join ${d} on ${d.id} = ${p.departmentId}
    where ${p.id} = ${policyId}
    on conflict (${bare(v.policyId)}, ${bare(v.version)}) do nothing`);
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

const toVersion = (r: RawRow): PolicyVersionRow => ({
  policyId: toNumber(r.policy_id),
  version: toNumber(r.version),
  title: toText(r.title),
  summary: toText(r.summary),
  url: toText(r.url),
  interpretationUrls: toTextArray(r.interpretation_urls),
  validUntil: orNull(toDate, r.valid_until),
  snapshot: orNull(toStoredJson<PolicySnapshot>, r.snapshot),
  recordedAt: orNull(toDate, r.created_at),
});

/**
 * Every version of the policy, oldest first. The current version of a policy published before
 * snapshots has no row: it is read from the policy itself (its texts have not changed since, only
 * an amendment changes them), without a snapshot.
 */
export async function listPolicyVersions(db: Queryable, policyId: number): Promise<PolicyVersionRow[]> {
  const v = policyVersions;
  const p = policies;
  const recorded = alias(policyVersions, 'recorded');
  return decodeRows(
    await db.execute(sql`
      select ${v.policyId}, ${v.version}, ${v.title}, ${v.summary}, ${v.url}, ${v.interpretationUrls}, ${v.validUntil}, ${v.snapshot},
        ${v.createdAt}
      from ${v} where ${v.policyId} = ${policyId}
      union all
      select ${p.id}, ${p.version}, ${p.title}, ${p.summary}, ${p.url}, ${p.interpretationUrls}, ${p.validUntil}, null, null
      from ${p}
      where ${p.id} = ${policyId} and ${p.status} <> 'scheduled'
        and not exists (select 1 from ${v} ${recorded} where ${recorded.policyId} = ${p.id} and ${recorded.version} = ${p.version})
      order by version`),
    toVersion,
  );
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
  // The outbox and its archive have the same columns: d is either, read through the outbox's names.
  const d = alias(deliveries, 'd');
  const o = deliveries;
  const a = deliveriesArchive;
  const c = contacts;
  const p = policies;
  const [delivery] = decodeRows(
    await db.execute(sql`
      select ${d.id}, ${d.policyId}, ${d.policyVersion}, ${d.contactId}, ${d.channel}, ${d.kind}, ${d.status}, ${d.createdAt}, ${d.sentAt},
        ${c.locale}, case ${d.channel} when 'sms' then ${c.phone} when 'email' then ${c.email} else ${c.wechatOpenid} end as address,
        coalesce(${p.test}, false) as test
      from (
        select ${o.id}, ${o.policyId}, ${o.policyVersion}, ${o.contactId}, ${o.channel}, ${o.kind}, ${o.status}, ${o.createdAt}, ${o.sentAt}
        from ${o} where ${o.id} = ${id}
        union all
        select ${a.id}, ${a.policyId}, ${a.policyVersion}, ${a.contactId}, ${a.channel}, ${a.kind}, ${a.status}, ${a.createdAt}, ${a.sentAt}
        from ${a} where ${a.id} = ${id}
      ) d
      left join ${c} on ${c.id} = ${d.contactId}
      left join ${p} on ${p.id} = ${d.policyId}
      limit 1`),
    (r): DeliveryToRender => ({
      id: toNumber(r.id),
      policyId: orNull(toNumber, r.policy_id),
      policyVersion: orNull(toNumber, r.policy_version),
      contactId: toNumber(r.contact_id),
      channel: toOneOf(CHANNELS, r.channel),
      kind: toText(r.kind),
      status: toText(r.status),
      createdAt: toDate(r.created_at),
      sentAt: orNull(toDate, r.sent_at),
      locale: orNull(toText, r.locale),
      address: orNull(toText, r.address),
      test: toBoolean(r.test),
    }),
  );
  return delivery;
}

/**
 * The id the next delivery will get (links are as long as the id they sign), for previews: read
 * from the identity's sequence, so deliveries already archived count too. It draws no value.
 */
export async function likelyNextDeliveryId(db: Queryable): Promise<number> {
  const [next] = decodeRows(
    await db.execute(sql`
      select coalesce(pg_sequence_last_value(pg_get_serial_sequence(${getTableName(deliveries)}, ${deliveries.id.name})), 0) + 1 as next`),
    (r) => toNumber(r.next),
  );
  return next;
}
