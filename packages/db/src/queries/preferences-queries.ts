// The contact's preferences page (services/api routes/preferences): what it shows about a contact
// and its enterprise, and the few changes a contact can make there without an account. Every
// function takes the contact id the signed link names, or the enterprise id read from that
// contact's own row: nothing here is looked up by an id the visitor typed.
import { sql } from 'drizzle-orm';
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { type Channel, CHANNELS } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { FAILED_STATUSES, inStatuses, REACHED_STATUSES } from '../delivery-statuses';
import { decodeRows, orNull, toBoolean, toDate, toNumber, toNumberArray, toOneOf, toText, toTextArray } from '../rows';
import {
  categories,
  contacts,
  deliveries,
  departments,
  enterprises,
  lateMatches,
  policies,
  policyReads,
  reachDirty,
  subscriptions,
} from '../schema';
import { bigintArray, textArray } from '../sql-arrays';
import { bare, qualified } from '../sql-names';

const c = contacts;
const toChannels = (value: unknown): Channel[] => toTextArray(value).map((channel) => toOneOf(CHANNELS, channel));

export interface PreferencesContact {
  id: number;
  enterpriseId: number;
  enterpriseName: string;
  phone: string | null;
  email: string | null;
  wechatOpenid: string | null;
  optedOut: Channel[];
  suppressed: boolean;
  consentSource: string;
  consentAt: Date;
  emailConfirmedAt: Date | null;
  /** Follow-up reminders turned off (issue 15). */
  remindersOff: boolean;
}

export async function getPreferencesContact(db: Queryable, contactId: number): Promise<PreferencesContact | null> {
  const e = enterprises;
  const [contact = null] = decodeRows(
    await db.execute(sql`
      select ${c.id}, ${c.enterpriseId}, ${e.name} as enterprise_name, ${c.phone}, ${c.email}, ${c.wechatOpenid}, ${c.optedOut},
             ${c.suppressed}, ${c.consentSource}, ${c.consentAt}, ${c.emailConfirmedAt}, ${c.remindersOff}
      from ${c} join ${e} on ${e.id} = ${c.enterpriseId}
      where ${c.id} = ${contactId}`),
    (r): PreferencesContact => ({
      id: toNumber(r.id),
      enterpriseId: toNumber(r.enterprise_id),
      enterpriseName: toText(r.enterprise_name),
      phone: orNull(toText, r.phone),
      email: orNull(toText, r.email),
      wechatOpenid: orNull(toText, r.wechat_openid),
      optedOut: toChannels(r.opted_out),
      suppressed: toBoolean(r.suppressed),
      consentSource: toText(r.consent_source),
      consentAt: toDate(r.consent_at),
      emailConfirmedAt: orNull(toDate, r.email_confirmed_at),
      remindersOff: toBoolean(r.reminders_off),
    }),
  );
  return contact;
}

export interface EnterpriseSubscription {
  id: number;
  categoryIds: number[];
  departmentIds: number[];
  channels: Channel[];
  frequency: (typeof FREQUENCIES)[number];
  active: boolean;
}

// subscriptions.frequency
const FREQUENCIES = ['immediate', 'daily', 'weekly'] as const;

/** The enterprise's subscriptions, oldest first; a page shows a handful, so 100 is plenty. */
export async function listEnterpriseSubscriptions(db: Queryable, enterpriseId: number): Promise<EnterpriseSubscription[]> {
  const s = subscriptions;
  return decodeRows(
    await db.execute(sql`
      select ${s.id}, ${s.categoryIds}, ${s.departmentIds}, ${s.channels}, ${s.frequency}, ${s.active}
      from ${s} where ${s.enterpriseId} = ${enterpriseId}
      order by ${s.id} limit 100`),
    (r): EnterpriseSubscription => ({
      id: toNumber(r.id),
      categoryIds: toNumberArray(r.category_ids),
      departmentIds: toNumberArray(r.department_ids),
      channels: toChannels(r.channels),
      frequency: toOneOf(FREQUENCIES, r.frequency),
      active: toBoolean(r.active),
    }),
  );
}

/** Whether the subscription is one of this enterprise's: the page may change only those. */
export async function subscriptionBelongsTo(db: Queryable, subscriptionId: number, enterpriseId: number): Promise<boolean> {
  const s = subscriptions;
  const found = decodeRows(
    await db.execute(sql`select 1 from ${s} where ${s.id} = ${subscriptionId} and ${s.enterpriseId} = ${enterpriseId}`),
    () => true,
  );
  return found.length > 0;
}

export interface NamedItem {
  id: number;
  parentId: number | null;
  nameZh: string;
  nameEn: string;
}

/**
 * The category catalogue to choose from: the first 500 by id (a city's policy topics are far
 * fewer), and always the ones the enterprise subscribes to, so that saving the page never drops
 * one it could not show. The page arranges them as a tree.
 */
export async function listCategoryChoices(db: Queryable, subscribed: number[]): Promise<NamedItem[]> {
  const k = categories;
  return decodeRows(
    await db.execute(sql`
      select ${k.id}, ${k.parentId}, ${k.nameZh}, ${k.nameEn} from ${k}
      where ${k.id} in (select ${k.id} from ${k} order by ${k.id} limit 500) or ${k.id} = any(${bigintArray(subscribed)})
      order by ${k.id}`),
    (r): NamedItem => ({
      id: toNumber(r.id),
      parentId: orNull(toNumber, r.parent_id),
      nameZh: toText(r.name_zh),
      nameEn: toText(r.name_en),
    }),
  );
}

/** Names of these departments (those that still exist). */
export async function departmentNames(db: Queryable, ids: number[]): Promise<NamedItem[]> {
  if (ids.length === 0) return [];
  const dep = departments;
  return decodeRows(
    await db.execute(
      sql`select ${dep.id}, ${dep.nameZh}, ${dep.nameEn} from ${dep} where ${dep.id} = any(${bigintArray(ids)}) order by ${dep.id}`,
    ),
    (r): NamedItem => ({ id: toNumber(r.id), parentId: null, nameZh: toText(r.name_zh), nameEn: toText(r.name_en) }),
  );
}

/** How the enterprise's messages about one policy ended, best first. */
export type InboxOutcome = 'delivered' | 'sent' | 'digested' | 'not-delivered' | 'late-match';

export interface InboxItem {
  policyId: number;
  title: string;
  url: string;
  policyStatus: string;
  departmentNameZh: string;
  departmentNameEn: string;
  /** When the latest message about it went out (or was attempted). */
  lastAt: Date;
  outcome: InboxOutcome;
  /** Opened in the inbox by any contact of the enterprise (markPolicyRead): engaged. */
  read: boolean;
}

const OUTCOMES: readonly InboxOutcome[] = ['delivered', 'sent', 'digested', 'not-delivered', 'late-match'];

// A delivery `d` and `via`, the message that carried it when it was merged into another or
// folded into a digest.
const d = alias(deliveries, 'd');
const via = alias(deliveries, 'via');
const joinCarrier = sql`left join ${deliveries} ${via}
  on ${via.id} = case ${d.status} when 'merged' then ${d.duplicateOf} when 'digested' then ${d.digestId} end`;

/**
 * The enterprise's inbox: the latest `limit` policies that were sent to any of its contacts,
 * newest first, one line per policy however many contacts and channels it went to.
 *
 * A delivery counts by the message that carried it: its own, or, when it was merged into another
 * enterprise's message to the same address (one address, one message) or folded into a digest,
 * that message. "Sent" includes messages that went astray (undelivered, failed): finding those is
 * what the inbox is for. Messages not out yet (pending, sending, held, a digest still to go)
 * appear once they are; cancelled and suppressed ones were never sent. A policy the enterprise
 * came to match after it went out, with its actionBy passed or without one, is listed here only
 * (outcome late-match, never sent: catch-up-queries.ts).
 *
 * deliveries has no index on enterprise_id (it is the hottest table and keeps few indexes), so
 * this reads the enterprise's rows by a scan; an index on (enterprise_id, created_at) is what
 * would make it cheap on a large outbox.
 */
export async function enterpriseInbox(db: Queryable, enterpriseId: number, limit = 50): Promise<InboxItem[]> {
  // The CTEs' rows keep a delivery's policy and status, named through these aliases.
  const carried = alias(deliveries, 'carried');
  const sentTo = (column: AnyPgColumn) => qualified('sent_to_enterprise', column);
  const latest = (column: AnyPgColumn) => qualified('s', column);
  const lm = lateMatches;
  const p = alias(policies, 'p');
  const dep = alias(departments, 'dep');
  const read = alias(policyReads, 'r');
  return decodeRows(
    await db.execute(sql`
      with carried as (
        select ${d.policyId},
               coalesce(${via.status}, ${d.status}) as status,
               ${d.status} = 'digested' as in_digest,
               coalesce(${via.sentAt}, ${d.sentAt}, ${via.finishedAt}, ${d.finishedAt}, ${d.createdAt}) as at
        from ${deliveries} ${d}
        ${joinCarrier}
        where ${d.enterpriseId} = ${enterpriseId} and ${d.policyId} is not null
      ), sent_to_enterprise as (
        select ${carried.policyId},
               max(at) as last_at,
               min(case when in_digest and ${carried.status} ${inStatuses(REACHED_STATUSES)} then 2
                        when ${carried.status} = 'delivered' then 0
                        when ${carried.status} = 'sent' then 1
                        else 3 end) as outcome
        from carried
        where ${carried.status} ${inStatuses([...REACHED_STATUSES, ...FAILED_STATUSES])}
        group by ${carried.policyId}
        union all
        select ${lm.policyId}, ${lm.matchedAt}, 4 from ${lm} where ${lm.enterpriseId} = ${enterpriseId} and not ${lm.notified}
      ), latest as (
        select * from sent_to_enterprise order by last_at desc, ${sentTo(deliveries.policyId)} desc limit ${limit}
      )
      select ${p.id}, ${p.title}, ${p.url}, ${p.status}, ${dep.nameZh}, ${dep.nameEn}, s.last_at, s.outcome,
        exists (select 1 from ${policyReads} ${read}
          where ${read.policyId} = ${latest(deliveries.policyId)} and ${read.enterpriseId} = ${enterpriseId}) as read
      from latest s
      join ${policies} ${p} on ${p.id} = ${latest(deliveries.policyId)}
      join ${departments} ${dep} on ${dep.id} = ${p.departmentId}
      order by s.last_at desc, ${p.id} desc`),
    (r): InboxItem => ({
      policyId: toNumber(r.id),
      title: toText(r.title),
      url: toText(r.url),
      policyStatus: toText(r.status),
      departmentNameZh: toText(r.name_zh),
      departmentNameEn: toText(r.name_en),
      lastAt: toDate(r.last_at),
      outcome: OUTCOMES[toNumber(r.outcome)],
      read: toBoolean(r.read),
    }),
  );
}

/**
 * A contact opened a policy in its enterprise's inbox: marks it read (once per contact) and, the
 * first time, queues the (policy, enterprise) pair for the reach refresher, which counts it as
 * engaged (reach-queries.ts). Only a policy that was sent to the enterprise, as the inbox lists it,
 * can be marked: otherwise nothing is written and the answer is 'not_in_inbox'. Returns the
 * policy's page with the outcome.
 */
export async function markPolicyRead(
  tx: Queryable,
  r: { contactId: number; enterpriseId: number; policyId: number; at: Date },
): Promise<{ outcome: 'read' | 'already_read' | 'not_in_inbox'; url: string | null }> {
  const p = alias(policies, 'p');
  const l = alias(lateMatches, 'l');
  const [policy] = decodeRows(
    await tx.execute(sql`
      select ${p.url}, exists (
        select 1 from ${deliveries} ${d}
        ${joinCarrier}
        where ${d.policyId} = ${p.id} and ${d.enterpriseId} = ${r.enterpriseId}
          and coalesce(${via.status}, ${d.status}) ${inStatuses([...REACHED_STATUSES, ...FAILED_STATUSES])}
      ) or exists (
        select 1 from ${lateMatches} ${l} where ${l.policyId} = ${p.id} and ${l.enterpriseId} = ${r.enterpriseId} and not ${l.notified}
      ) as in_inbox
      from ${policies} ${p} where ${p.id} = ${r.policyId}`),
    (row) => ({ url: toText(row.url), inInbox: toBoolean(row.in_inbox) }),
  );
  if (!policy?.inInbox) return { outcome: 'not_in_inbox', url: null };
  const pr = policyReads;
  const inserted = decodeRows(
    await tx.execute(sql`
      insert into ${pr} (${bare(pr.policyId)}, ${bare(pr.enterpriseId)}, ${bare(pr.contactId)}, ${bare(pr.readAt)})
      values (${r.policyId}, ${r.enterpriseId}, ${r.contactId}, ${r.at.toISOString()}::timestamptz)
      on conflict do nothing
      returning 1`),
    () => true,
  );
  if (inserted.length) {
    const rd = reachDirty;
    await tx.execute(
      sql`insert into ${rd} (${bare(rd.policyId)}, ${bare(rd.enterpriseId)}, ${bare(rd.deliveryId)}) values (${r.policyId}, ${r.enterpriseId}, null)`,
    );
  }
  return { outcome: inserted.length ? 'read' : 'already_read', url: policy.url };
}

/** Opts the contact out of every channel (the page's "unsubscribe from everything"). */
export async function optOutOfEverything(db: Queryable, contactId: number): Promise<boolean> {
  const changed = decodeRows(
    await db.execute(sql`
      update ${c} set ${bare(c.optedOut)} = ${textArray(CHANNELS)}, ${bare(c.updatedAt)} = now()
      where ${c.id} = ${contactId} and not (${c.optedOut} @> ${textArray(CHANNELS)})
      returning ${c.id}`),
    () => true,
  );
  return changed.length > 0;
}

/**
 * Takes back the contact's opt-out of one channel, from the page. The contact asked for it
 * itself, so that is recorded as its consent: self-service, now.
 */
export async function resubscribeChannel(db: Queryable, contactId: number, channel: Channel): Promise<boolean> {
  const changed = decodeRows(
    await db.execute(sql`
      update ${c}
      set ${bare(c.optedOut)} = array_remove(${c.optedOut}, ${channel}), ${bare(c.consentSource)} = 'self-service',
        ${bare(c.consentAt)} = now(), ${bare(c.updatedAt)} = now()
      where ${c.id} = ${contactId} and ${channel} = any(${c.optedOut})
      returning ${c.id}`),
    () => true,
  );
  return changed.length > 0;
}

/** Records that the contact confirmed its email address, the first time only; false if already done. */
export async function confirmContactEmail(db: Queryable, contactId: number): Promise<boolean> {
  const changed = decodeRows(
    await db.execute(sql`
      update ${c} set ${bare(c.emailConfirmedAt)} = now(), ${bare(c.updatedAt)} = now()
      where ${c.id} = ${contactId} and ${c.emailConfirmedAt} is null
      returning ${c.id}`),
    () => true,
  );
  return changed.length > 0;
}

/** Turns the contact's follow-up reminders off or on again; reminders already planned for it are not sent. */
export async function setRemindersOff(db: Queryable, contactId: number, off: boolean): Promise<void> {
  await db.execute(sql`update ${c} set ${bare(c.remindersOff)} = ${off}, ${bare(c.updatedAt)} = now() where ${c.id} = ${contactId}`);
  const r = deliveries;
  if (off)
    await db.execute(sql`
      update ${r} set ${bare(r.status)} = 'cancelled', ${bare(r.errorCode)} = 'reminders_off', ${bare(r.finishedAt)} = now(),
        ${bare(r.updatedAt)} = now()
      where ${r.contactId} = ${contactId} and ${r.kind} = 'reminder' and ${r.status} = 'pending'`);
}
