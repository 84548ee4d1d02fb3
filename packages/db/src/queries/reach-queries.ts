// Reach (issue 5): did a policy reach the enterprises it was for? Counted per enterprise, read
// from counters so that a million-delivery policy answers in milliseconds.
//
// The design, and why it is correct with any number of dispatchers and API replicas:
//
// 1. Queue. Statement-level triggers on deliveries (migration 0008_reach_triggers) append the
//    deliveries a statement changed in a way the funnel can see, with their (policy, enterprise)
//    pair, to reach_dirty; recordOpen does the same for a first open. The queue row commits or
//    rolls back with the change itself, and appending never waits on another writer, so the hot
//    path (fan-out, acks, receipts) gets one extra INSERT … SELECT per statement and no lock.
// 2. Recount. refreshReach takes a batch off the queue (DELETE … RETURNING) and, in the same
//    statement, recounts each pair from its deliveries: those it was counted from before (kept in
//    reach_enterprises.delivery_ids) and those queued, all read by primary key, so the outbox
//    needs no extra index and a deleted contact's deliveries still count. The pair's old row is
//    subtracted from the counters (reach_rollup, reach_failures) and the recount added. A
//    statement sees one snapshot: every queued change it deletes is visible to its recount, and a
//    change that commits later left a queue row this statement could not see, so the next run
//    takes it. Nothing is lost, whatever order transactions commit in (a watermark on ids or
//    timestamps would skip late committers). Recounting is idempotent, so repeats are harmless.
// 3. One refresher at a time (pg_try_advisory_xact_lock), so the read-modify-write of the
//    counters never races; a second caller returns at once and leaves the work to the first.
//
// Who refreshes: the dispatcher's periodic job (every few seconds), and the reach endpoints
// before they answer (a bounded catch-up), so embedded mode and a quiet system converge too. The
// answer says whether changes were still queued (upToDate).
//
// What the stages mean is REACH_RULES below: one text, used as this file's definition and as the
// OpenAPI description of the reach endpoints.
import { type SQL, sql } from 'drizzle-orm';
import { type AnyPgColumn, alias } from 'drizzle-orm/pg-core';
import type { Database, Queryable } from '../create-db';
import { decodeRows, orNull, type RawRow, toBoolean, toNumber, toOneOf, toText, toTextArray } from '../rows';
import {
  categories,
  contacts,
  deliveries,
  deliveriesArchive,
  deliveryOpens,
  deliveryOpensArchive,
  enterprises,
  lateMatches,
  policies,
  policyReads,
  pushes,
  reachDirty,
  reachEnterprises,
  reachFailures,
  reachRollup,
  reachTimeline,
  reachUnaddressable,
} from '../schema';
import { bigintArray } from '../sql-arrays';
import { bare, qualified } from '../sql-names';

/** The reach funnel's definitions, stated once (also the OpenAPI description of the reach endpoints). */
export const REACH_RULES = [
  'Counts are enterprises; a report over several policies counts enterprise–policy pairs.',
  "Only the policy's own deliveries (kind policy, every version) count: update and revocation notices go to those already reached.",
  'targeted: every enterprise the policy matched (an active subscription covering it, in its audience), whether or not it could be addressed.',
  'addressable: of those, the enterprises with at least one delivery of the policy, in any status (merged, held and suppressed ones included): a contact reachable on a channel it accepts when the policy was pushed. The rest are counted in unaddressable by why: noContact, noAddress (no address for its channels), optedOut, emailUnconfirmed (where the deployment requires confirmed email).',
  'addressableKnown: false for policies pushed before unaddressable enterprises were recorded: their targeted counts only enterprises with a delivery (addressable = targeted).',
  'withDelivery: at least one of them is going or went out (neither cancelled nor suppressed).',
  'sent: a provider accepted at least one of its messages.',
  'delivered: the provider confirmed delivery (a WeChat or SMS receipt).',
  'reached: delivered, or an email the SMTP server accepted and that has not bounced since. Email has no delivery receipt, so for email "sent" stands for reached; sent and delivered stay distinct stages.',
  'reachRate (到達率) = reached ÷ targeted.',
  'engaged: a person at the enterprise opened the link (the signed /r/ redirect) of a delivery of the policy (the policy message, an update or a reminder), or opened the policy in the inbox of the preferences page. Opens by machines are recorded but never counted: a HEAD, a known mail-scanner or link-preview user agent, or an open within 60 seconds of the send. By channel, only opens of the policy message on that channel count; an update, a reminder or the inbox counts under all channels together. awareness (知曉度) = engaged ÷ targeted.',
  'A merged delivery (one address, one message) takes the state of the delivery it was merged into; a held one folded into a digest takes the digest’s.',
  'By channel: enterprises with a delivery on that channel at that stage (one enterprise can count on several). By district, industry section and size: the enterprise’s as of its last recount.',
  'failures: deliveries that ended failed or undelivered, by channel and provider error code (unknown when none was given).',
  'lateMatched: of the targeted, the enterprises matched late: they subscribed, or their profile came to match, after the policy went out, and were caught up once (one catch-up message when its actionBy was still ahead, the inbox only otherwise). One caught up in the inbox only counts as targeted under all channels, neither addressable nor unaddressable.',
  'followUps: remindersSent (reminder messages sent), reminded (enterprises sent at least one), engagedAfterReminder (of those, the ones engaged after their first reminder went out); over all channels.',
].join(' ');

export const REACH_STAGES = ['targeted', 'addressable', 'withDelivery', 'sent', 'delivered', 'reached', 'engaged'] as const;
/** The stages, and the targeted enterprises that were not addressable by why (UNADDRESSABLE_REASONS). */
export type ReachCounts = Record<(typeof REACH_STAGES)[number], number> & {
  unaddressable: { noContact: number; noAddress: number; optedOut: number; emailUnconfirmed: number };
  /** Of the targeted, those matched late and caught up (catch-up-queries.ts). */
  lateMatched: number;
};

// Any constant shared by every process; it names the refresher's lock.
export const REACH_REFRESH_LOCK = 7_100_517;
const DEFAULT_BATCH = 5_000;

// The outbox and its archive (queries/archive-queries.ts) together, one delivery by its id: a
// pair recounted after some of its deliveries were archived still counts them. Looked up by
// primary key in each: given a policy's id as well, the planner may walk the policy's whole
// unique-key range instead, once per pair.
const deliveryById = (id: SQL) => {
  const columnsOf = (t: typeof deliveries | typeof deliveriesArchive) =>
    sql`${t.id}, ${t.policyId}, ${t.enterpriseId}, ${t.kind}, ${t.channel}, ${t.status}, ${t.errorCode}, ${t.sentAt}, ${t.finishedAt}, ${t.duplicateOf}, ${t.digestId}`;
  return sql`(
  select ${columnsOf(deliveries)} from ${deliveries} where ${deliveries.id} = ${id}
  union all
  select ${columnsOf(deliveriesArchive)} from ${deliveriesArchive} where ${deliveriesArchive.id} = ${id})`;
};

// When a carrier delivery's link was first opened by a person (delivery_opens.engaged_at: scanner
// opens leave it null), live or archived.
const engagedAtOf = (id: SQL) => sql`(select min(${qualified('o', deliveryOpens.engagedAt)}) from (
  select ${deliveryOpens.engagedAt} from ${deliveryOpens} where ${deliveryOpens.deliveryId} = ${id}
  union all
  select ${deliveryOpensArchive.engagedAt} from ${deliveryOpensArchive} where ${deliveryOpensArchive.deliveryId} = ${id}) o)`;

// The counter tables' columns the recount writes, in the order its insert lists give them.
const rollupKey = [reachRollup.policyId, reachRollup.channel, reachRollup.district, reachRollup.industrySection, reachRollup.size];
const rollupCounters = [
  reachRollup.targeted,
  reachRollup.addressable,
  reachRollup.noContact,
  reachRollup.noAddress,
  reachRollup.optedOut,
  reachRollup.emailUnconfirmed,
  reachRollup.withDelivery,
  reachRollup.sent,
  reachRollup.delivered,
  reachRollup.reached,
  reachRollup.engaged,
  reachRollup.remindersSent,
  reachRollup.reminded,
  reachRollup.engagedAfterReminder,
  reachRollup.lateMatched,
];
const failuresKey = [reachFailures.policyId, reachFailures.channel, reachFailures.errorCode];
const timelineKey = [reachTimeline.policyId, reachTimeline.hour];
const timelineCounters = [reachTimeline.reached, reachTimeline.engaged];
const pairKey = [reachEnterprises.policyId, reachEnterprises.enterpriseId];
const pairCounts = [
  reachEnterprises.district,
  reachEnterprises.industrySection,
  reachEnterprises.size,
  reachEnterprises.targeted,
  reachEnterprises.withDelivery,
  reachEnterprises.sent,
  reachEnterprises.delivered,
  reachEnterprises.reached,
  reachEnterprises.engaged,
  reachEnterprises.reachedAt,
  reachEnterprises.engagedAt,
  reachEnterprises.remindersSent,
  reachEnterprises.remindedAt,
  reachEnterprises.failures,
  reachEnterprises.deliveryIds,
  reachEnterprises.unaddressable,
  reachEnterprises.lateMatch,
];
/** An insert or conflict column list. */
const names = (columns: AnyPgColumn[]): SQL => sql.join(columns.map(bare), sql`, `);
/** On conflict: each counter plus the inserted row's (a delta). */
const added = (columns: AnyPgColumn[]): SQL =>
  sql.join(
    columns.map((c) => sql`${bare(c)} = ${c} + excluded.${bare(c)}`),
    sql`, `,
  );
/** On conflict: each column the inserted row's (a recount). */
const replaced = (columns: AnyPgColumn[]): SQL =>
  sql.join(
    columns.map((c) => sql`${bare(c)} = excluded.${bare(c)}`),
    sql`, `,
  );

/** The id of the delivery carrying the message of delivery `d` (a deliveryById alias): merged into or folded into a digest. */
const carrierOf = (d: string) =>
  sql`case ${qualified(d, deliveries.status)} when 'merged' then ${qualified(d, deliveries.duplicateOf)}
    when 'digested' then ${qualified(d, deliveries.digestId)} end`;

/**
 * One batch of the queue, recounted, in one statement (see the file header). Returns how many
 * queue rows it took and how many distinct pairs they named.
 */
async function refreshBatch(tx: Queryable, batchSize: number): Promise<{ taken: number; pairs: number }> {
  const q = reachDirty;
  const s = alias(reachEnterprises, 's');
  const e = alias(enterprises, 'e');
  const u = alias(reachUnaddressable, 'u');
  const lm = alias(lateMatches, 'lm');
  const x = alias(policyReads, 'x');
  // d: a delivery of the pair (deliveryById), m: the one carrying its message.
  const dl = deliveries;
  const d = (column: AnyPgColumn) => qualified('d', column);
  const m = (column: AnyPgColumn) => qualified('m', column);
  const [row] = decodeRows(
    await tx.execute(sql`
      with taken as (
        -- array(...) is computed once; "id in (select … limit)" can be planned as a rescan per row.
        delete from ${q} where ${q.id} = any(array(select ${q.id} from ${q} order by ${q.id} limit ${batchSize}))
        returning ${q.policyId}, ${q.enterpriseId}, ${q.deliveryId}
      ),
      pairs as materialized (
        -- delivery_id is null for a matched enterprise the fan-out could not address (reach_unaddressable).
        select policy_id, enterprise_id, coalesce(array_agg(distinct delivery_id) filter (where delivery_id is not null), '{}') as queued_ids
        from taken group by policy_id, enterprise_id
      ),
      -- What each pair counted for until now (subtracted below).
      old as materialized (
        select ${s}.* from pairs p join ${reachEnterprises} ${s} on ${s.policyId} = p.policy_id and ${s.enterpriseId} = p.enterprise_id
      ),
      -- Each pair recounted on its own (a lateral subquery per pair, so the work grows with the
      -- batch whatever the planner guesses about its size) from its deliveries: those it was
      -- counted from before and those just queued, read by primary key, each with the delivery
      -- that carries its message (itself, the one it was merged into, or the digest it was folded into).
      counted_pairs as materialized (
        select p.policy_id, p.enterprise_id,
          coalesce(${e.district}, ${s.district}, '') as district,
          coalesce(${e.industrySection}, ${s.industrySection}, '') as industry_section,
          coalesce(${e.size}, ${s.size}, '') as size,
          coalesce(r.targeted, 0) as targeted, coalesce(r.with_delivery, 0) as with_delivery, coalesce(r.sent, 0) as sent,
          coalesce(r.delivered, 0) as delivered, coalesce(r.reached, 0) as reached,
          coalesce(r.engaged, 0) | (case when rd.read_at is not null then 8 else 0 end) as engaged,
          r.reached_at, least(r.engaged_at, rd.read_at) as engaged_at,
          coalesce(r.reminders_sent, 0) as reminders_sent, r.reminded_at,
          coalesce(r.failures, '{}') as failures, coalesce(r.delivery_ids, '{}') as delivery_ids,
          -- Matched but unaddressable counts only while the pair has no delivery (of any version).
          case when coalesce(r.targeted, 0) = 0 then ${u.reason} end as unaddressable,
          ${lm.enterpriseId} is not null as late_match
        from pairs p
        left join ${enterprises} ${e} on ${e.id} = p.enterprise_id
        left join ${reachEnterprises} ${s} on ${s.policyId} = p.policy_id and ${s.enterpriseId} = p.enterprise_id
        left join ${reachUnaddressable} ${u} on ${u.policyId} = p.policy_id and ${u.enterpriseId} = p.enterprise_id
        left join ${lateMatches} ${lm} on ${lm.policyId} = p.policy_id and ${lm.enterpriseId} = p.enterprise_id
        -- Read in the inbox by any of its contacts (engagement, counted under 'all' only: bit 8).
        left join lateral (
          select min(${x.readAt}) as read_at from ${policyReads} ${x} where ${x.policyId} = p.policy_id and ${x.enterpriseId} = p.enterprise_id
        ) rd on true
        cross join lateral (
          -- The funnel's stages come from the policy's own deliveries; engagement also from an
          -- opened update or reminder of the policy (bit 8: 'all' only, its channel was not targeted).
          select bit_or(bit) filter (where policy_kind) as targeted,
            bit_or(bit) filter (where policy_kind and with_delivery) as with_delivery,
            bit_or(bit) filter (where policy_kind and sent) as sent,
            bit_or(bit) filter (where policy_kind and delivered) as delivered,
            -- Email has no delivery receipt: an accepted email that has not bounced counts as reached (REACH_RULES).
            bit_or(bit) filter (where policy_kind and (delivered or accepted_email)) as reached,
            bit_or(case when policy_kind then bit else 8 end) filter (where engaged_at is not null) as engaged,
            min(reached_time) filter (where policy_kind and (delivered or accepted_email)) as reached_at,
            min(engaged_at) as engaged_at,
            -- Follow-ups: reminders sent to it, and when the first went out.
            count(*) filter (where kind = 'reminder' and sent) as reminders_sent,
            min(sent_time) filter (where kind = 'reminder' and sent) as reminded_at,
            array_agg(channel || ':' || coalesce(error_code, 'unknown')) filter (where policy_kind and status in ('failed', 'undelivered')) as failures,
            array_agg(id order by id) as delivery_ids
          from (
            select ${d(dl.id)}, ${d(dl.channel)}, ${d(dl.status)}, ${d(dl.errorCode)}, ${d(dl.kind)}, ${d(dl.kind)} = 'policy' as policy_kind,
              coalesce(${m(dl.sentAt)}, ${d(dl.sentAt)}) as sent_time,
              (case ${d(dl.channel)} when 'wechat' then 1 when 'sms' then 2 when 'email' then 4 else 0 end) as bit,
              coalesce(${m(dl.status)}, ${d(dl.status)}) not in ('cancelled', 'suppressed') as with_delivery,
              (coalesce(${m(dl.sentAt)}, ${d(dl.sentAt)}) is not null
                or coalesce(${m(dl.status)}, ${d(dl.status)}) in ('sent', 'delivered', 'undelivered')) as sent,
              coalesce(${m(dl.status)}, ${d(dl.status)}) = 'delivered' as delivered,
              (${d(dl.channel)} = 'email' and coalesce(${m(dl.status)}, ${d(dl.status)}) = 'sent') as accepted_email,
              -- When it was reached: the receipt (finished_at) or, for an accepted email, its send.
              case when coalesce(${m(dl.status)}, ${d(dl.status)}) = 'delivered'
                  then coalesce(${m(dl.finishedAt)}, ${d(dl.finishedAt)}, ${m(dl.sentAt)}, ${d(dl.sentAt)})
                else coalesce(${m(dl.sentAt)}, ${d(dl.sentAt)}) end as reached_time,
              ${engagedAtOf(sql`coalesce(${m(dl.id)}, ${d(dl.id)})`)} as engaged_at
            from (select distinct unnest(coalesce(${s.deliveryIds}, '{}') || p.queued_ids) as id) q
            cross join lateral ${deliveryById(sql`q.id`)} d
            left join lateral ${deliveryById(carrierOf('d'))} m on true
            where ${d(dl.policyId)} = p.policy_id and ${d(dl.enterpriseId)} = p.enterprise_id
              and ${d(dl.kind)} in ('policy', 'update', 'reminder')
          ) delivery
        ) r
      ),
      -- Engagement counts only for a targeted pair (an update to one the policy never targeted does
      -- not make it so); a counted stage always has its time, so the timeline sums to the counters.
      fresh as materialized (
        select c.policy_id, c.enterprise_id, c.district, c.industry_section, c.size, c.targeted, c.with_delivery, c.sent,
          c.delivered, c.reached, engaged.bits as engaged, c.failures, c.delivery_ids, c.unaddressable, c.late_match,
          case when c.reached <> 0 then coalesce(c.reached_at, now()) end as reached_at,
          case when engaged.bits <> 0 then coalesce(c.engaged_at, now()) end as engaged_at,
          c.reminders_sent, case when c.reminders_sent > 0 then coalesce(c.reminded_at, now()) end as reminded_at
        from counted_pairs c
        cross join lateral (
          select case when c.targeted <> 0 or c.unaddressable is not null or c.late_match then c.engaged else 0 end as bits
        ) engaged
      ),
      signed as (
        select policy_id, district, industry_section, size, -1 as sign, targeted, with_delivery, sent, delivered, reached, engaged, unaddressable,
          reminders_sent, (reminders_sent > 0)::int as reminded,
          (engaged <> 0 and reminded_at is not null and engaged_at > reminded_at)::int as engaged_after_reminder, late_match
        from old
        union all
        select policy_id, district, industry_section, size, 1, targeted, with_delivery, sent, delivered, reached, engaged, unaddressable,
          reminders_sent, (reminders_sent > 0)::int,
          (engaged <> 0 and reminded_at is not null and engaged_at > reminded_at)::int, late_match
        from fresh
      ),
      -- 'all' (bits 7): on any channel; otherwise the channel's own bit. An unaddressable enterprise
      -- has no channel: it counts under 'all' only, as targeted and by its reason; so does a late
      -- match listed in the inbox only (no delivery).
      channels(name, bit) as (values ('all', 7), ('wechat', 1), ('sms', 2), ('email', 4)),
      delta as (
        select s.policy_id, ch.name as channel, s.district, s.industry_section, s.size,
          sum(s.sign * ((s.targeted & ch.bit) <> 0 or (ch.bit = 7 and (s.unaddressable is not null or s.late_match)))::int) as targeted,
          sum(s.sign * ((s.targeted & ch.bit) <> 0)::int) as addressable,
          sum(s.sign * (ch.bit = 7 and s.unaddressable is not distinct from 'no_contact')::int) as no_contact,
          sum(s.sign * (ch.bit = 7 and s.unaddressable is not distinct from 'no_address')::int) as no_address,
          sum(s.sign * (ch.bit = 7 and s.unaddressable is not distinct from 'opted_out')::int) as opted_out,
          sum(s.sign * (ch.bit = 7 and s.unaddressable is not distinct from 'email_unconfirmed')::int) as email_unconfirmed,
          sum(s.sign * ((s.with_delivery & ch.bit) <> 0)::int) as with_delivery,
          sum(s.sign * ((s.sent & ch.bit) <> 0)::int) as sent,
          sum(s.sign * ((s.delivered & ch.bit) <> 0)::int) as delivered,
          sum(s.sign * ((s.reached & ch.bit) <> 0)::int) as reached,
          -- 'all' also counts bit 8 (engaged in the inbox, or through an update or a reminder).
          sum(s.sign * ((s.engaged & (case ch.bit when 7 then 15 else ch.bit end)) <> 0)::int) as engaged,
          -- Follow-ups under 'all' only: a reminder goes on whichever channel is next, not the policy's.
          sum(s.sign * (case ch.bit when 7 then s.reminders_sent else 0 end)) as reminders_sent,
          sum(s.sign * (case ch.bit when 7 then s.reminded else 0 end)) as reminded,
          sum(s.sign * (case ch.bit when 7 then s.engaged_after_reminder else 0 end)) as engaged_after_reminder,
          sum(s.sign * s.late_match::int) as late_matched
        from signed s join channels ch on (s.targeted & ch.bit) <> 0 or (ch.bit = 7 and (s.unaddressable is not null or s.late_match))
        group by 1, 2, 3, 4, 5
      ),
      counted as (
        insert into ${reachRollup} (${names(rollupKey)}, ${names(rollupCounters)})
        select policy_id, channel, district, industry_section, size, targeted, addressable,
          no_contact, no_address, opted_out, email_unconfirmed, with_delivery, sent, delivered, reached, engaged,
          reminders_sent, reminded, engaged_after_reminder, late_matched
        from delta
        where (targeted, addressable, no_contact, no_address, opted_out, email_unconfirmed, with_delivery, sent, delivered, reached, engaged,
            reminders_sent, reminded, engaged_after_reminder, late_matched)
          <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        on conflict (${names(rollupKey)}) do update set ${added(rollupCounters)}
        returning 1
      ),
      failure_delta as (
        select policy_id, split_part(f, ':', 1) as channel, substr(f, strpos(f, ':') + 1) as error_code, sum(sign)::int as n
        from (
          select policy_id, -1 as sign, unnest(failures) as f from old
          union all
          select policy_id, 1, unnest(failures) from fresh
        ) x
        group by 1, 2, 3
      ),
      failures_counted as (
        insert into ${reachFailures} (${names(failuresKey)}, ${bare(reachFailures.deliveries)})
        select policy_id, channel, error_code, n from failure_delta where n <> 0
        on conflict (${names(failuresKey)}) do update set ${added([reachFailures.deliveries])}
        returning 1
      ),
      -- Reach over time: the pair's old hours out, its new ones in (hours in UTC whatever the
      -- session's time zone). A pair counted before reached_at existed has no old hour to take out.
      timeline_delta as (
        select policy_id, hour, sum(r)::int as reached, sum(e)::int as engaged
        from (
          select policy_id, date_trunc('hour', reached_at at time zone 'UTC') as hour, -1 as r, 0 as e from old where reached <> 0 and reached_at is not null
          union all
          select policy_id, date_trunc('hour', engaged_at at time zone 'UTC'), 0, -1 from old where engaged <> 0 and engaged_at is not null
          union all
          select policy_id, date_trunc('hour', reached_at at time zone 'UTC'), 1, 0 from fresh where reached <> 0
          union all
          select policy_id, date_trunc('hour', engaged_at at time zone 'UTC'), 0, 1 from fresh where engaged <> 0
        ) x
        group by 1, 2
      ),
      timeline_counted as (
        insert into ${reachTimeline} (${names(timelineKey)}, ${names(timelineCounters)})
        select policy_id, hour at time zone 'UTC', reached, engaged from timeline_delta where (reached, engaged) <> (0, 0)
        on conflict (${names(timelineKey)}) do update set ${added(timelineCounters)}
        returning 1
      ),
      saved as (
        insert into ${reachEnterprises} (${names(pairKey)}, ${names(pairCounts)}, ${bare(reachEnterprises.updatedAt)})
        select policy_id, enterprise_id, district, industry_section, size,
          targeted, with_delivery, sent, delivered, reached, engaged, reached_at, engaged_at, reminders_sent, reminded_at,
          failures, delivery_ids, unaddressable, late_match, now()
        from fresh
        on conflict (${names(pairKey)}) do update set ${replaced(pairCounts)}, ${bare(reachEnterprises.updatedAt)} = now()
        returning 1
      )
      select (select count(*) from taken)::int as taken,
        (select count(*) from saved)::int as pairs,
        (select count(*) from counted)::int + (select count(*) from failures_counted)::int
          + (select count(*) from timeline_counted)::int as counters`),
    (r) => ({ taken: toNumber(r.taken), pairs: toNumber(r.pairs) }),
  );
  return row;
}

export interface ReachRefresh {
  /** Distinct (policy, enterprise) pairs recounted. */
  pairs: number;
  /** Changes may still be queued: the batch limit was reached, or another process is refreshing. */
  more: boolean;
}

/**
 * Brings the reach counters up to date with the queued changes, a batch per transaction, at most
 * `maxBatches` batches. Only one process refreshes at a time; a caller that finds another at work
 * returns at once (more: true).
 */
export async function refreshReach(db: Database, opts: { batchSize?: number; maxBatches?: number } = {}): Promise<ReachRefresh> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  const maxBatches = opts.maxBatches ?? 200;
  let pairs = 0;
  for (let i = 0; i < maxBatches; i++) {
    const batch = await db.transaction(async (tx) => {
      const [locked] = decodeRows(await tx.execute(sql`select pg_try_advisory_xact_lock(${REACH_REFRESH_LOCK}) as ok`), (r) =>
        toBoolean(r.ok),
      );
      return locked ? refreshBatch(tx, batchSize) : null;
    });
    if (!batch) return { pairs, more: true };
    pairs += batch.pairs;
    if (batch.taken < batchSize) return { pairs, more: false };
  }
  return { pairs, more: true };
}

/** Whether changes are waiting to be counted (the answer's upToDate is its negation). */
export async function reachChangesQueued(db: Queryable): Promise<boolean> {
  const [queued] = decodeRows(await db.execute(sql`select exists (select 1 from ${reachDirty}) as queued`), (r) => toBoolean(r.queued));
  return queued;
}

/** Follow-ups (reminders, kind 'reminder'): over every enterprise, channel 'all' only. */
export interface FollowUpCounts {
  /** Reminder messages sent. */
  remindersSent: number;
  /** Enterprises sent at least one reminder. */
  reminded: number;
  /** Of those, the enterprises engaged after their first reminder went out. */
  engagedAfterReminder: number;
}

export interface ReachBreakdown {
  /** False when a policy in scope was pushed before unaddressable enterprises were recorded. */
  addressableKnown: boolean;
  totals: ReachCounts;
  followUps: FollowUpCounts;
  byChannel: (ReachCounts & { channel: string })[];
  byDistrict: (ReachCounts & { district: string })[];
  bySection: (ReachCounts & { section: string })[];
  bySize: (ReachCounts & { size: string })[];
  failures: { channel: string; errorCode: string; deliveries: number }[];
}

const ZERO: ReachCounts = {
  targeted: 0,
  addressable: 0,
  withDelivery: 0,
  sent: 0,
  delivered: 0,
  reached: 0,
  engaged: 0,
  unaddressable: { noContact: 0, noAddress: 0, optedOut: 0, emailUnconfirmed: 0 },
  lateMatched: 0,
};

// The counter sums of reach_rollup rows aliased r, as the columns countsOf and followUpsOf read.
const rollup = alias(reachRollup, 'r');
const SUMS = sql`sum(${rollup.targeted})::int as targeted, sum(${rollup.addressable})::int as addressable,
  sum(${rollup.withDelivery})::int as with_delivery, sum(${rollup.sent})::int as sent, sum(${rollup.delivered})::int as delivered,
  sum(${rollup.reached})::int as reached, sum(${rollup.engaged})::int as engaged,
  sum(${rollup.noContact})::int as no_contact, sum(${rollup.noAddress})::int as no_address, sum(${rollup.optedOut})::int as opted_out,
  sum(${rollup.emailUnconfirmed})::int as email_unconfirmed, sum(${rollup.lateMatched})::int as late_matched,
  sum(${rollup.remindersSent})::int as reminders_sent, sum(${rollup.reminded})::int as reminded,
  sum(${rollup.engagedAfterReminder})::int as engaged_after_reminder`;

/** The stages of a row of SUMS. */
const countsOf = (r: RawRow): ReachCounts => ({
  targeted: toNumber(r.targeted),
  addressable: toNumber(r.addressable),
  withDelivery: toNumber(r.with_delivery),
  sent: toNumber(r.sent),
  delivered: toNumber(r.delivered),
  reached: toNumber(r.reached),
  engaged: toNumber(r.engaged),
  unaddressable: {
    noContact: toNumber(r.no_contact),
    noAddress: toNumber(r.no_address),
    optedOut: toNumber(r.opted_out),
    emailUnconfirmed: toNumber(r.email_unconfirmed),
  },
  lateMatched: toNumber(r.late_matched),
});

/** The follow-ups of a row of SUMS. */
const followUpsOf = (r: RawRow): FollowUpCounts => ({
  remindersSent: toNumber(r.reminders_sent),
  reminded: toNumber(r.reminded),
  engagedAfterReminder: toNumber(r.engaged_after_reminder),
});

/**
 * The funnel over the policies `scope` (a subquery of policy ids) selects, with its breakdowns:
 * one grouping-sets pass over their counter rows and one over their failure rows.
 */
async function breakdown(db: Queryable, scope: SQL): Promise<ReachBreakdown> {
  const r = rollup;
  const f = alias(reachFailures, 'f');
  // A grouping set's row: its channel, and which breakdown it belongs to with that breakdown's
  // value (the channel alone, or one of district, section and size within the channel).
  const rows = decodeRows(
    await db.execute(sql`
      select ${r.channel}, ${r.district}, ${r.industrySection}, ${r.size},
        grouping(${r.district}) = 0 as by_district, grouping(${r.industrySection}) = 0 as by_section, grouping(${r.size}) = 0 as by_size,
        ${SUMS}
      from ${reachRollup} ${r}
      where ${r.policyId} in (${scope})
      group by grouping sets ((${r.channel}), (${r.channel}, ${r.district}), (${r.channel}, ${r.industrySection}), (${r.channel}, ${r.size}))
      having sum(${r.targeted}) > 0
      order by ${r.channel}, ${r.district}, ${r.industrySection}, ${r.size}`),
    (row) => {
      const by = toBoolean(row.by_district)
        ? 'district'
        : toBoolean(row.by_section)
          ? 'section'
          : toBoolean(row.by_size)
            ? 'size'
            : 'channel';
      const value = { channel: row.channel, district: row.district, section: row.industry_section, size: row.size }[by];
      return { channel: toText(row.channel), by, value: toText(value), counts: countsOf(row), followUps: followUpsOf(row) };
    },
  );
  const failures = decodeRows(
    await db.execute(sql`
      select ${f.channel}, ${f.errorCode}, sum(${f.deliveries})::int as n
      from ${reachFailures} ${f}
      where ${f.policyId} in (${scope})
      group by ${f.channel}, ${f.errorCode}
      having sum(${f.deliveries}) > 0
      order by n desc, ${f.channel}, ${f.errorCode}`),
    (row) => ({ channel: toText(row.channel), errorCode: toText(row.error_code), deliveries: toNumber(row.n) }),
  );
  const all = rows.filter((row) => row.channel === 'all');
  const p = alias(pushes, 'p');
  const [known] = decodeRows(
    await db.execute(
      sql`select not exists (select 1 from ${pushes} ${p} where ${p.policyId} in (${scope}) and not ${p.recordsUnaddressable}) as known`,
    ),
    (row) => toBoolean(row.known),
  );
  const total = all.find((row) => row.by === 'channel');
  return {
    addressableKnown: known,
    totals: total ? total.counts : structuredClone(ZERO),
    followUps: total ? total.followUps : { remindersSent: 0, reminded: 0, engagedAfterReminder: 0 },
    byChannel: rows.filter((row) => row.channel !== 'all' && row.by === 'channel').map((row) => ({ channel: row.channel, ...row.counts })),
    byDistrict: all.filter((row) => row.by === 'district').map((row) => ({ district: row.value, ...row.counts })),
    bySection: all.filter((row) => row.by === 'section').map((row) => ({ section: row.value, ...row.counts })),
    bySize: all.filter((row) => row.by === 'size').map((row) => ({ size: row.value, ...row.counts })),
    failures,
  };
}

/** One policy's funnel and breakdowns, from the counters (refreshReach first for the latest). */
export async function policyReach(db: Queryable, policyId: number): Promise<ReachBreakdown> {
  return breakdown(db, sql`select ${policyId}::bigint`);
}

export interface ReachReportFilter {
  departmentId?: number;
  /** Only these departments' policies (a publisher's report). */
  departmentIds?: number[];
  /** The category or any of its descendants. */
  categoryId?: number;
  /** Policies published at or after. */
  from?: Date;
  /** Policies published before. */
  to?: Date;
}

export interface ReachReport extends ReachBreakdown {
  policies: number;
  byDepartment: (ReachCounts & { departmentId: number })[];
  byCategory: (ReachCounts & { categoryId: number })[];
}

function reportScope(f: ReachReportFilter): SQL {
  const p = alias(policies, 'p');
  // Policies published with a test key reached nobody real: reports are of live data only.
  const conditions: SQL[] = [sql`not ${p.test}`];
  if (f.departmentId !== undefined) conditions.push(sql`${p.departmentId} = ${f.departmentId}`);
  if (f.departmentIds !== undefined) conditions.push(sql`${p.departmentId} = any(${bigintArray(f.departmentIds)})`);
  if (f.categoryId !== undefined) {
    const c = alias(categories, 'c');
    conditions.push(sql`${p.categoryIds} && array(
      with recursive below as (
        select ${categories.id} from ${categories} where ${categories.id} = ${f.categoryId}
        union
        select ${c.id} from ${categories} ${c} join below on ${c.parentId} = below.id
      )
      select id from below)`);
  }
  if (f.from) conditions.push(sql`${p.publishAt} >= ${f.from.toISOString()}::timestamptz`);
  if (f.to) conditions.push(sql`${p.publishAt} < ${f.to.toISOString()}::timestamptz`);
  return sql`select ${p.id} from ${policies} ${p} where ${sql.join(conditions, sql` and `)}`;
}

/**
 * The funnel over every policy of a department and/or category (with its subcategories) published
 * in [from, to), by department and by category besides the breakdowns of one policy. A policy in
 * two categories counts in both of byCategory.
 */
export async function reachReport(db: Queryable, filter: ReachReportFilter): Promise<ReachReport> {
  const scope = reportScope(filter);
  const base = await breakdown(db, scope);
  const [n] = decodeRows(await db.execute(sql`select count(*)::int as n from (${scope}) s`), (row) => toNumber(row.n));
  const r = rollup;
  const p = alias(policies, 'p');
  const departments = decodeRows(
    await db.execute(sql`
      select ${p.departmentId}, ${SUMS}
      from ${reachRollup} ${r} join ${policies} ${p} on ${p.id} = ${r.policyId}
      where ${r.channel} = 'all' and ${r.policyId} in (${scope})
      group by ${p.departmentId} having sum(${r.targeted}) > 0 order by ${p.departmentId}`),
    (row) => ({ departmentId: toNumber(row.department_id), ...countsOf(row) }),
  );
  const byCategory = decodeRows(
    await db.execute(sql`
      select c.category_id, ${SUMS}
      from ${reachRollup} ${r} join ${policies} ${p} on ${p.id} = ${r.policyId} cross join unnest(${p.categoryIds}) as c(category_id)
      where ${r.channel} = 'all' and ${r.policyId} in (${scope})
      group by c.category_id having sum(${r.targeted}) > 0 order by c.category_id`),
    (row) => ({ categoryId: toNumber(row.category_id), ...countsOf(row) }),
  );
  return { ...base, policies: n, byDepartment: departments, byCategory };
}

/** Why a targeted enterprise was not reached (GAP_REASONS in order of precedence after the first four). */
export const GAP_REASONS = [
  'no_contact',
  'no_address',
  'opted_out',
  'email_unconfirmed',
  'held',
  'in_progress',
  'awaiting_receipt',
  'failed',
  'cancelled',
] as const;
export type GapReason = (typeof GAP_REASONS)[number];

export interface ReachGap {
  policyId: number;
  enterpriseId: number;
  enterpriseName: string | null;
  creditCode: string | null;
  district: string;
  industrySection: string;
  size: string;
  reason: GapReason;
  /** The policy's deliveries to it, each with the state of the message that carries it. */
  deliveries: { channel: string; status: string; errorCode: string | null }[];
  /** Its contacts now, to fix: the first few. */
  contacts: { contactId: number; phone: string | null; email: string | null; wechatOpenid: string | null }[];
}

const GAP_CONTACTS = 5;

/**
 * A page of the targeted enterprises that were not reached, in (policy, enterprise) order after
 * `after`, from the reach counters' per-enterprise rows (refreshReach first for the latest). Why:
 * an unaddressable enterprise's reason; otherwise the furthest its deliveries got short of
 * reaching it — held for a digest, still being sent, sent and awaiting a receipt, failed (with
 * each channel's error code), opted out since (suppressed), or cancelled.
 */
export async function reachGaps(
  db: Queryable,
  scope: SQL,
  page: { after?: { policyId: number; enterpriseId: number }; limit: number },
): Promise<ReachGap[]> {
  const s = alias(reachEnterprises, 's');
  const e = alias(enterprises, 'e');
  const c = alias(contacts, 'c');
  // d: a delivery (deliveryById), m: the one carrying its message.
  const d = (column: AnyPgColumn) => qualified('d', column);
  const m = (column: AnyPgColumn) => qualified('m', column);
  const after = page.after
    ? sql`and (${s.policyId}, ${s.enterpriseId}) > (${page.after.policyId}::bigint, ${page.after.enterpriseId}::bigint)`
    : sql``;
  return decodeRows(
    await db.execute(sql`
      select ${s.policyId}, ${s.enterpriseId}, ${e.name}, ${e.creditCode}, ${s.district}, ${s.industrySection}, ${s.size}, ${s.unaddressable},
        coalesce(d.deliveries, '[]') as deliveries, d.statuses,
        coalesce((
          select json_agg(json_build_object('contactId', ${c.id}, 'phone', ${c.phone}, 'email', ${c.email}, 'wechatOpenid', ${c.wechatOpenid}) order by ${c.id})
          from (select * from ${contacts} ${c} where ${c.enterpriseId} = ${s.enterpriseId} and ${c.erasedAt} is null order by ${c.id} limit ${GAP_CONTACTS}) c
        ), '[]') as contacts
      from ${reachEnterprises} ${s}
      left join ${enterprises} ${e} on ${e.id} = ${s.enterpriseId}
      left join lateral (
        select json_agg(json_build_object('channel', x.channel, 'status', x.status, 'errorCode', x.error_code) order by x.id) as deliveries,
          array_agg(x.status) as statuses
        from (
          select ${d(deliveries.id)}, ${d(deliveries.channel)}, coalesce(${m(deliveries.status)}, ${d(deliveries.status)}) as status,
            case when coalesce(${m(deliveries.status)}, ${d(deliveries.status)}) in ('failed', 'undelivered', 'suppressed', 'cancelled')
              then coalesce(${m(deliveries.errorCode)}, ${d(deliveries.errorCode)}) end as error_code
          from unnest(${s.deliveryIds}) as q(id)
          cross join lateral ${deliveryById(sql`q.id`)} d
          left join lateral ${deliveryById(carrierOf('d'))} m on true
          -- delivery_ids also holds the updates and reminders an engagement came through.
          where ${d(deliveries.kind)} = 'policy'
        ) x
      ) d on true
      where ${s.policyId} in (${scope}) and ${s.reached} = 0 and (${s.targeted} <> 0 or ${s.unaddressable} is not null) ${after}
      order by ${s.policyId}, ${s.enterpriseId}
      limit ${page.limit}`),
    (r): ReachGap => {
      const statuses = orNull(toTextArray, r.statuses) ?? [];
      const any = (...xs: string[]) => statuses.some((status) => xs.includes(status));
      const unaddressable = orNull((v) => toOneOf(GAP_REASONS, v), r.unaddressable);
      const reason: GapReason = unaddressable
        ? unaddressable
        : any('held')
          ? 'held'
          : any('pending', 'sending')
            ? 'in_progress'
            : any('sent')
              ? 'awaiting_receipt'
              : any('failed', 'undelivered')
                ? 'failed'
                : any('suppressed')
                  ? 'opted_out'
                  : 'cancelled';
      return {
        policyId: toNumber(r.policy_id),
        enterpriseId: toNumber(r.enterprise_id),
        enterpriseName: orNull(toText, r.name),
        creditCode: orNull(toText, r.credit_code),
        district: toText(r.district),
        industrySection: toText(r.industry_section),
        size: toText(r.size),
        reason,
        deliveries: toJsonObjects(r.deliveries).map((x) => ({
          channel: toText(x.channel),
          status: toText(x.status),
          errorCode: orNull(toText, x.errorCode),
        })),
        contacts: toJsonObjects(r.contacts).map((x) => ({
          contactId: toNumber(x.contactId),
          phone: orNull(toText, x.phone),
          email: orNull(toText, x.email),
          wechatOpenid: orNull(toText, x.wechatOpenid),
        })),
      };
    },
  );
}

/** A json array of objects (json_agg), parsed by the driver or still text. */
function toJsonObjects(value: unknown): RawRow[] {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'object' && x !== null)) return parsed as RawRow[];
  throw new TypeError(`row decoder: expected a json array of objects, got ${String(value)}`);
}

/** The policies a report selects (reachReport's scope), for reachGaps. */
export const reachReportScope = (filter: ReachReportFilter): SQL => reportScope(filter);

/** One policy, for reachGaps. */
export const policyScope = (policyId: number): SQL => sql`select ${policyId}::bigint`;
