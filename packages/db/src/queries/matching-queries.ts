// Matching, in one place (ARCHITECTURE.md "Matching"). A contact gets a policy when
//   1. its enterprise has an active subscription covering one of the policy's categories (a parent
//      category covers its children) or the policy's department,
//   2. its enterprise is in the policy's audience: in any target service group, or matching the
//      inline rule; everyone when the policy has neither,
//   3. the contact has a usable address on a channel of its list (the subscription's channels, or
//      the contact's own order) that it has not opted out of, and is not suppressed.
// The first usable channel gets the delivery (every usable one for urgent policies). Of several
// matching subscriptions, immediate beats daily beats weekly. Everything runs in Postgres: the
// audience is never loaded into Node. `packages/core/src/matching.ts` is the reference that a
// property test holds this SQL to.
import type { AudienceRule, Channel, PolicyAudience } from '@policy-push/core';
import { type SQL, sql } from 'drizzle-orm';
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Queryable } from '../create-db';
import { decodeRows, orNull, toNumber, toStoredJson, toText, toTextArray } from '../rows';
import { categories, contacts, deliveries, enterprises, serviceGroupMembers, serviceGroups, subscriptions } from '../schema';
import { bigintArray, textArray } from '../sql-arrays';
import { addressSql } from './address-claims-queries';
import { reachableSql, unaddressableRankSql, unreachableReasonSql } from './reachable-sql';

// The rows every step speaks of: the enterprise as e (ruleSql, groupSql; service-groups-queries.ts
// uses them too) and the contact as c (reachableSql takes the alias by name).
const e = alias(enterprises, 'e');
const c = alias(contacts, 'c');

export interface MatchTarget {
  departmentId: number;
  /** The policy's categories and all their ancestors: see expandCategories. */
  categoryIds: number[];
  /** Target groups, sorted by id; rule null = a static member list. */
  groups: { id: number; rule: AudienceRule | null }[];
  rule: AudienceRule | null;
  /** True when the policy names neither target groups nor a rule: every subscriber is in. */
  everyone: boolean;
  urgent: boolean;
  /** Email only to addresses confirmed by their link (a deployment setting). */
  requireConfirmedEmail?: boolean;
}

export const reachability = (target: Pick<MatchTarget, 'requireConfirmedEmail'>) => ({
  requireConfirmedEmail: target.requireConfirmedEmail ?? false,
});

/** A rule as a predicate over the enterprise row `e`. */
export function ruleSql(rule: AudienceRule): SQL {
  const parts: SQL[] = [];
  if (rule.industries) {
    const sections = rule.industries.any.filter((v) => /^[A-Z]$/.test(v));
    const divisions = rule.industries.any.filter((v) => /^[0-9]{2}$/.test(v));
    parts.push(sql`(${e.industrySection} = any(${textArray(sections)}) or ${e.industryDivision} = any(${textArray(divisions)}))`);
  }
  if (rule.districts) parts.push(sql`${e.district} = any(${textArray(rule.districts.any)})`);
  if (rule.sizes) parts.push(sql`${e.size} = any(${textArray(rule.sizes.any)})`);
  if (rule.tags?.any) parts.push(sql`${e.tags} && ${textArray(rule.tags.any)}`);
  if (rule.tags?.all) parts.push(sql`${e.tags} @> ${textArray(rule.tags.all)}`);
  return parts.length ? sql`(${sql.join(parts, sql` and `)})` : sql`true`;
}

/** Whether the enterprise row `e` is in the group: its rule, or (rule null) its member list. */
export function groupSql(group: MatchTarget['groups'][number]): SQL {
  const m = alias(serviceGroupMembers, 'm');
  return group.rule
    ? ruleSql(group.rule)
    : sql`exists (select 1 from ${serviceGroupMembers} ${m} where ${m.groupId} = ${group.id} and ${m.enterpriseId} = ${e.id})`;
}

/**
 * The named steps of matching, for enterprises with from < id <= to, or those listed (catch-up),
 * or all when absent, as the
 * body of a WITH: audience (in the policy's audience), subscription (matched: in the audience with
 * a covering subscription, one row per enterprise), usable (each matched contact's reachable
 * channels, in order). A statement goes on with deliveriesFromMatch and/or unaddressableFromMatch.
 */
export function matchingCtes(target: MatchTarget, range?: { from: number; to: number } | { enterpriseIds: number[] }): SQL {
  const groupIds = target.groups.length
    ? sql`array_remove(array[${sql.join(
        target.groups.map((g) => sql`case when ${groupSql(g)} then ${g.id}::bigint end`),
        sql`, `,
      )}], null)`
    : sql`'{}'::bigint[]`;
  const byRule = target.everyone ? sql`true` : target.rule ? ruleSql(target.rule) : sql`false`;
  const inRange = !range
    ? sql`true`
    : 'enterpriseIds' in range
      ? sql`${e.id} = any(${bigintArray(range.enterpriseIds)})`
      : sql`${e.id} > ${range.from} and ${e.id} <= ${range.to}`;
  const categoryIds = bigintArray(target.categoryIds);
  const s = alias(subscriptions, 's');
  const covers = sql`${s.active} and (${s.categoryIds} && ${categoryIds} or ${target.departmentId}::bigint = any(${s.departmentIds}))`;
  // Of several covering subscriptions, immediate beats daily beats weekly.
  const preferred = sql`case ${s.frequency} when 'immediate' then 0 when 'daily' then 1 else 2 end, ${s.id}`;
  // The subscription's categories that the policy covers (an intersection, done as a filter: a set
  // operation per subscription cost a tenth of a fan-out chunk).
  const coveredCategories = sql`array(select distinct x from unnest(${s.categoryIds}) x where x = any(${categoryIds}) order by x)`;
  // A fan-out chunk's enterprises are a range of ids: its subscriptions and contacts are read by
  // the same range of their enterprise index (the planner does not carry a range across a join on
  // its own, and joined without it every chunk hashed all the city's subscriptions). Catch-up's
  // list of enterprises looks each one up (laterals the planner cannot turn into joins: limit 1,
  // offset 0). The whole city (a preview, the publish limits) is joined, in one pass.
  const byList = range && 'enterpriseIds' in range;
  const rangeOf = (column: AnyPgColumn) =>
    range && !('enterpriseIds' in range) ? sql`and ${column} > ${range.from} and ${column} <= ${range.to}` : sql``;
  const subscription = byList
    ? sql`select a.enterprise_id, a.group_ids, chosen.channels, chosen.frequency, chosen.category_ids
        from audience a
        cross join lateral (
          select ${s.channels}, ${s.frequency}, ${coveredCategories} as category_ids
          from ${subscriptions} ${s}
          where ${s.enterpriseId} = a.enterprise_id and ${covers}
          order by ${preferred}
          limit 1
        ) chosen`
    : sql`select distinct on (a.enterprise_id) a.enterprise_id, a.group_ids, ${s.channels}, ${s.frequency}, ${coveredCategories} as category_ids
        from audience a
        join ${subscriptions} ${s} on ${s.enterpriseId} = a.enterprise_id ${rangeOf(s.enterpriseId)}
        where ${covers}
        order by a.enterprise_id, ${preferred}`;
  const contactsOfEach = byList
    ? sql`cross join lateral (select * from ${contacts} ${c} where ${c.enterpriseId} = sub.enterprise_id offset 0) c`
    : sql`join ${contacts} ${c} on ${c.enterpriseId} = sub.enterprise_id ${rangeOf(c.enterpriseId)}`;
  return sql`
    grouped as (
      select ${e.id} as enterprise_id, ${groupIds} as group_ids, ${byRule} as by_rule
      from ${enterprises} ${e}
      where ${inRange}
    ),
    audience as (
      select enterprise_id, group_ids from grouped where by_rule or cardinality(group_ids) > 0
    ),
    subscription as (${subscription}),
    usable as (
      select c.id as contact_id, sub.enterprise_id, ch.channel, ch.position, sub.frequency, sub.category_ids, sub.group_ids,
        ${addressSql('c', sql`ch.channel`)} as address
      from subscription sub
      ${contactsOfEach}
      cross join lateral unnest(case when cardinality(sub.channels) > 0 then sub.channels else c.channels end)
        with ordinality as ch(channel, position)
      where ${reachableSql('c', sql`ch.channel`, reachability(target))}
    )`;
}

/**
 * After matchingCtes: one row per delivery the policy should make: enterprise_id, contact_id,
 * channel, status (pending | held), category_ids, group_ids, fallback_channels, digest_period
 * (daily | weekly for held ones), address (addressSql: what the fan-out claims).
 */
export function deliveriesFromMatch(target: MatchTarget): SQL {
  const oneChannelEach = target.urgent ? sql`` : sql`distinct on (contact_id)`;
  // Where a failed message goes next: the contact's usable channels after this one. Urgent
  // policies use every usable channel at once, so they have none left to fall back to.
  const fallbacks = target.urgent
    ? sql`'{}'::text[]`
    : sql`coalesce(array_agg(channel) over (partition by contact_id order by position rows between 1 following and unbounded following), '{}')`;
  return sql`
    select ${oneChannelEach} enterprise_id, contact_id, channel,
      case when ${sql.raw(String(target.urgent))} or frequency = 'immediate' then 'pending' else 'held' end as status,
      category_ids, group_ids, ${fallbacks} as fallback_channels, address,
      case when not ${sql.raw(String(target.urgent))} and frequency <> 'immediate' then frequency end as digest_period
    from usable
    order by contact_id, position`;
}

/**
 * After matchingCtes: the matched enterprises that get no delivery, with why (an
 * UnaddressableReason): no contact, or the reason of the contact–channel pair (of the channels it
 * accepts) that came closest to reachable. Only enterprises without a usable row are looked into.
 */
export function unaddressableFromMatch(target: MatchTarget): SQL {
  return sql`
    select sub.enterprise_id,
      case when has_contact.id is null then 'no_contact'
      else coalesce((
        select r.reason
        from ${contacts} ${c}
        cross join lateral unnest(case when cardinality(sub.channels) > 0 then sub.channels else ${c.channels} end) as ch(channel)
        cross join lateral (select ${unreachableReasonSql('c', sql`ch.channel`, reachability(target))} as reason) r
        where ${c.enterpriseId} = sub.enterprise_id and ${c.erasedAt} is null
        order by ${unaddressableRankSql(sql`r.reason`)}
        limit 1), 'no_address')
      end as reason
    from subscription sub
    -- A look-up per enterprise (limit 1 in a lateral): as "not exists" inside the case, it was
    -- planned as a hashed subplan over every contact of the city, once per fan-out chunk.
    left join lateral (
      select ${c.id} from ${contacts} ${c} where ${c.enterpriseId} = sub.enterprise_id and ${c.erasedAt} is null limit 1
    ) has_contact on true
    where not exists (select 1 from usable u where u.enterprise_id = sub.enterprise_id)`;
}

/** One row per delivery the policy should make (deliveriesFromMatch), for enterprises in range. */
export function matchedDeliveriesSql(target: MatchTarget, range?: { from: number; to: number }): SQL {
  return sql`with ${matchingCtes(target, range)} ${deliveriesFromMatch(target)}`;
}

/** The ids given plus all their ancestors, sorted. */
export async function expandCategories(db: Queryable, ids: number[]): Promise<number[]> {
  const parent = alias(categories, 'c');
  return decodeRows(
    await db.execute(sql`
      with recursive up as (
        select ${categories.id}, ${categories.parentId} from ${categories} where ${categories.id} = any(${bigintArray(ids)})
        union
        select ${parent.id}, ${parent.parentId} from ${categories} ${parent} join up on ${parent.id} = up.parent_id
      )
      select id from up order by id`),
    (r) => toNumber(r.id),
  );
}

/** The target for one policy: its ancestors-expanded categories and its target groups' rules. */
export async function loadMatchTarget(
  db: Queryable,
  policy: PolicyAudience,
  opts: { requireConfirmedEmail?: boolean } = {},
): Promise<MatchTarget> {
  const g = serviceGroups;
  const groups = decodeRows(
    await db.execute(sql`select ${g.id}, ${g.rule} from ${g} where ${g.id} = any(${bigintArray(policy.targetGroupIds)}) order by ${g.id}`),
    (r) => ({ id: toNumber(r.id), rule: orNull(toStoredJson<AudienceRule>, r.rule) }),
  );
  return {
    departmentId: policy.departmentId,
    categoryIds: await expandCategories(db, policy.categoryIds),
    groups,
    rule: policy.audienceRule,
    everyone: !policy.targetGroupIds.length && !policy.audienceRule,
    urgent: policy.priority === 'urgent',
    requireConfirmedEmail: opts.requireConfirmedEmail,
  };
}

export interface AudiencePreview {
  enterprises: number;
  contacts: number;
  deliveries: number;
  byChannel: Record<Channel, number>;
  held: number;
  sample: {
    enterpriseId: number;
    enterpriseName: string;
    contactId: number;
    channel: string;
    status: string;
    categoryCodes: string[];
    groupNames: string[];
  }[];
}

export type MatchedCounts = Omit<AudiencePreview, 'sample'>;

/**
 * What a match would make, counted in Postgres: for a preview, and for the publish limits
 * (publish-limits.ts in the API), which count a push again's audience without the contacts the
 * version already has a delivery for on that channel (`notDeliveredIn`).
 */
export async function countMatched(
  db: Queryable,
  target: MatchTarget,
  opts: { notDeliveredIn?: { policyId: number; version: number } } = {},
): Promise<MatchedCounts> {
  const d = alias(deliveries, 'd');
  const notDelivered = opts.notDeliveredIn
    ? sql`where not exists (select 1 from ${deliveries} ${d} where ${d.policyId} = ${opts.notDeliveredIn.policyId}
        and ${d.policyVersion} = ${opts.notDeliveredIn.version} and ${d.contactId} = m.contact_id and ${d.channel} = m.channel and ${d.kind} = 'policy')`
    : sql``;
  const [totals] = decodeRows(
    await db.execute(sql`
      select count(distinct enterprise_id)::int as enterprises, count(distinct contact_id)::int as contacts, count(*)::int as deliveries,
        count(*) filter (where channel = 'wechat')::int as wechat, count(*) filter (where channel = 'sms')::int as sms,
        count(*) filter (where channel = 'email')::int as email, count(*) filter (where status = 'held')::int as held
      from (${matchedDeliveriesSql(target)}) m ${notDelivered}`),
    (r): MatchedCounts => ({
      enterprises: toNumber(r.enterprises),
      contacts: toNumber(r.contacts),
      deliveries: toNumber(r.deliveries),
      byChannel: { wechat: toNumber(r.wechat), sms: toNumber(r.sms), email: toNumber(r.email) },
      held: toNumber(r.held),
    }),
  );
  return totals;
}

/** What a publish would make, counted and sampled with the reasons, writing nothing. */
export async function previewAudience(db: Queryable, target: MatchTarget, sampleSize: number): Promise<AudiencePreview> {
  const matched = matchedDeliveriesSql(target);
  const totals = await countMatched(db, target);
  const cat = alias(categories, 'c');
  const g = alias(serviceGroups, 'g');
  const sample = decodeRows(
    await db.execute(sql`
      select m.enterprise_id, ${e.name}, m.contact_id, m.channel, m.status,
        array(select ${cat.code} from ${categories} ${cat} where ${cat.id} = any(m.category_ids) order by ${cat.id}) as category_codes,
        array(select ${g.name} from ${serviceGroups} ${g} where ${g.id} = any(m.group_ids) order by ${g.id}) as group_names
      from (${matched} limit ${sampleSize}) m join ${enterprises} ${e} on ${e.id} = m.enterprise_id`),
    (r): AudiencePreview['sample'][number] => ({
      enterpriseId: toNumber(r.enterprise_id),
      enterpriseName: toText(r.name),
      contactId: toNumber(r.contact_id),
      channel: toText(r.channel),
      status: toText(r.status),
      categoryCodes: toTextArray(r.category_codes),
      groupNames: toTextArray(r.group_names),
    }),
  );
  return { ...totals, sample };
}
