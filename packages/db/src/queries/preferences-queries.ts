// The contact's preferences page (services/api routes/preferences): what it shows about a contact
// and its enterprise, and the few changes a contact can make there without an account. Every
// function takes the contact id the signed link names, or the enterprise id read from that
// contact's own row: nothing here is looked up by an id the visitor typed.
import { sql } from 'drizzle-orm';
import { type Channel, CHANNELS } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { FAILED_STATUSES, inStatuses, REACHED_STATUSES } from '../delivery-statuses';
import { rowsOf } from '../rows';
import { bigintArray, textArray } from '../sql-arrays';

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
  const [row] = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select c.id, c.enterprise_id, e.name as enterprise_name, c.phone, c.email, c.wechat_openid, c.opted_out, c.suppressed,
             c.consent_source, c.consent_at, c.email_confirmed_at, c.reminders_off
      from contacts c join enterprises e on e.id = c.enterprise_id
      where c.id = ${contactId}`),
  );
  if (!row) return null;
  return {
    id: Number(row.id),
    enterpriseId: Number(row.enterprise_id),
    enterpriseName: row.enterprise_name as string,
    phone: row.phone as string | null,
    email: row.email as string | null,
    wechatOpenid: row.wechat_openid as string | null,
    optedOut: textArrayOf(row.opted_out) as Channel[],
    suppressed: row.suppressed as boolean,
    consentSource: row.consent_source as string,
    consentAt: new Date(row.consent_at as string),
    emailConfirmedAt: row.email_confirmed_at ? new Date(row.email_confirmed_at as string) : null,
    remindersOff: row.reminders_off === true,
  };
}

// Both drivers answer text[] as a JS array when the column type is known; an aggregate or an
// unusual plan can still hand back the '{a,b}' literal, so both are read.
function textArrayOf(v: unknown): string[] {
  if (Array.isArray(v)) return v as string[];
  if (typeof v !== 'string' || v === '{}') return [];
  return v.replace(/^\{|\}$/g, '').split(',');
}

export interface EnterpriseSubscription {
  id: number;
  categoryIds: number[];
  departmentIds: number[];
  channels: Channel[];
  frequency: 'immediate' | 'daily' | 'weekly';
  active: boolean;
}

/** The enterprise's subscriptions, oldest first; a page shows a handful, so 100 is plenty. */
export async function listEnterpriseSubscriptions(db: Queryable, enterpriseId: number): Promise<EnterpriseSubscription[]> {
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select id, category_ids, department_ids, channels, frequency, active
      from subscriptions where enterprise_id = ${enterpriseId}
      order by id limit 100`),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    categoryIds: (r.category_ids as (string | number)[]).map(Number),
    departmentIds: (r.department_ids as (string | number)[]).map(Number),
    channels: textArrayOf(r.channels) as Channel[],
    frequency: r.frequency as EnterpriseSubscription['frequency'],
    active: r.active as boolean,
  }));
}

/** Whether the subscription is one of this enterprise's: the page may change only those. */
export async function subscriptionBelongsTo(db: Queryable, subscriptionId: number, enterpriseId: number): Promise<boolean> {
  const rows = rowsOf(await db.execute(sql`select 1 from subscriptions where id = ${subscriptionId} and enterprise_id = ${enterpriseId}`));
  return rows.length > 0;
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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select id, parent_id, name_zh, name_en from categories
      where id in (select id from categories order by id limit 500) or id = any(${bigintArray(subscribed)})
      order by id`),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    parentId: r.parent_id === null ? null : Number(r.parent_id),
    nameZh: r.name_zh as string,
    nameEn: r.name_en as string,
  }));
}

/** Names of these departments (those that still exist). */
export async function departmentNames(db: Queryable, ids: number[]): Promise<NamedItem[]> {
  if (ids.length === 0) return [];
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`select id, name_zh, name_en from departments where id = any(${bigintArray(ids)}) order by id`),
  );
  return rows.map((r) => ({ id: Number(r.id), parentId: null, nameZh: r.name_zh as string, nameEn: r.name_en as string }));
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

const OUTCOMES: InboxOutcome[] = ['delivered', 'sent', 'digested', 'not-delivered', 'late-match'];

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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      with carried as (
        select d.policy_id,
               coalesce(via.status, d.status) as status,
               d.status = 'digested' as in_digest,
               coalesce(via.sent_at, d.sent_at, via.finished_at, d.finished_at, d.created_at) as at
        from deliveries d
        left join deliveries via on via.id = case d.status when 'merged' then d.duplicate_of when 'digested' then d.digest_id end
        where d.enterprise_id = ${enterpriseId} and d.policy_id is not null
      ), sent_to_enterprise as (
        select policy_id,
               max(at) as last_at,
               min(case when in_digest and status ${inStatuses(REACHED_STATUSES)} then 2
                        when status = 'delivered' then 0
                        when status = 'sent' then 1
                        else 3 end) as outcome
        from carried
        where status ${inStatuses([...REACHED_STATUSES, ...FAILED_STATUSES])}
        group by policy_id
        union all
        select policy_id, matched_at, 4 from late_matches where enterprise_id = ${enterpriseId} and not notified
      ), latest as (
        select * from sent_to_enterprise order by last_at desc, policy_id desc limit ${limit}
      )
      select p.id, p.title, p.url, p.status, d.name_zh, d.name_en, s.last_at, s.outcome,
        exists (select 1 from policy_reads r where r.policy_id = s.policy_id and r.enterprise_id = ${enterpriseId}) as read
      from latest s
      join policies p on p.id = s.policy_id
      join departments d on d.id = p.department_id
      order by s.last_at desc, p.id desc`),
  );
  return rows.map((r) => ({
    policyId: Number(r.id),
    title: r.title as string,
    url: r.url as string,
    policyStatus: r.status as string,
    departmentNameZh: r.name_zh as string,
    departmentNameEn: r.name_en as string,
    lastAt: new Date(r.last_at as string),
    outcome: OUTCOMES[Number(r.outcome)],
    read: Boolean(r.read),
  }));
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
  const [policy] = rowsOf<{ url: string; in_inbox: boolean }>(
    await tx.execute(sql`
      select p.url, exists (
        select 1 from deliveries d
        left join deliveries via on via.id = case d.status when 'merged' then d.duplicate_of when 'digested' then d.digest_id end
        where d.policy_id = p.id and d.enterprise_id = ${r.enterpriseId}
          and coalesce(via.status, d.status) ${inStatuses([...REACHED_STATUSES, ...FAILED_STATUSES])}
      ) or exists (
        select 1 from late_matches l where l.policy_id = p.id and l.enterprise_id = ${r.enterpriseId} and not l.notified
      ) as in_inbox
      from policies p where p.id = ${r.policyId}`),
  );
  if (!policy?.in_inbox) return { outcome: 'not_in_inbox', url: null };
  const inserted = rowsOf(
    await tx.execute(sql`
      insert into policy_reads (policy_id, enterprise_id, contact_id, read_at)
      values (${r.policyId}, ${r.enterpriseId}, ${r.contactId}, ${r.at.toISOString()}::timestamptz)
      on conflict do nothing
      returning 1`),
  );
  if (inserted.length) {
    await tx.execute(sql`insert into reach_dirty (policy_id, enterprise_id, delivery_id) values (${r.policyId}, ${r.enterpriseId}, null)`);
  }
  return { outcome: inserted.length ? 'read' : 'already_read', url: policy.url };
}

/** Opts the contact out of every channel (the page's "unsubscribe from everything"). */
export async function optOutOfEverything(db: Queryable, contactId: number): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      update contacts set opted_out = ${textArray(CHANNELS)}, updated_at = now()
      where id = ${contactId} and not (opted_out @> ${textArray(CHANNELS)})
      returning id`),
  );
  return rows.length > 0;
}

/**
 * Takes back the contact's opt-out of one channel, from the page. The contact asked for it
 * itself, so that is recorded as its consent: self-service, now.
 */
export async function resubscribeChannel(db: Queryable, contactId: number, channel: Channel): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      update contacts
      set opted_out = array_remove(opted_out, ${channel}), consent_source = 'self-service', consent_at = now(), updated_at = now()
      where id = ${contactId} and ${channel} = any(opted_out)
      returning id`),
  );
  return rows.length > 0;
}

/** Records that the contact confirmed its email address, the first time only; false if already done. */
export async function confirmContactEmail(db: Queryable, contactId: number): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      update contacts set email_confirmed_at = now(), updated_at = now()
      where id = ${contactId} and email_confirmed_at is null
      returning id`),
  );
  return rows.length > 0;
}

/** Turns the contact's follow-up reminders off or on again; reminders already planned for it are not sent. */
export async function setRemindersOff(db: Queryable, contactId: number, off: boolean): Promise<void> {
  await db.execute(sql`update contacts set reminders_off = ${off}, updated_at = now() where id = ${contactId}`);
  if (off)
    await db.execute(sql`
      update deliveries set status = 'cancelled', error_code = 'reminders_off', finished_at = now(), updated_at = now()
      where contact_id = ${contactId} and kind = 'reminder' and status = 'pending'`);
}
