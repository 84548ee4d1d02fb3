// The delivery log (issue 5, "Delivery logs"): search, one delivery's whole story, a streaming
// export, and re-queueing failed deliveries after an outage.
import { and, asc, desc, eq, gte, lt, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Queryable } from '../create-db';
import { DROPPED_STATUSES, FAILED_STATUSES, inStatuses } from '../delivery-statuses';
import { decodeRows, orNull, toDate, toNumber, toText } from '../rows';
import { bigintArray, textArray } from '../sql-arrays';
import { categories, deliveries, deliveryAttempts, deliveryEvents, deliveryOpens, policies, serviceGroups } from '../schema';
import { bare } from '../sql-names';
import { getArchivedDeliveryStory } from './archive-queries';
import { contactsOfEnterprises, contactsWithAddress, contactsWithIds, deliveriesOfContacts } from './console-queries';

export type Delivery = typeof deliveries.$inferSelect;
export type DeliveryAttempt = typeof deliveryAttempts.$inferSelect;
export type DeliveryEvent = typeof deliveryEvents.$inferSelect;

export interface DeliveryFilter {
  policyId?: number;
  enterpriseId?: number;
  contactId?: number;
  channel?: string;
  status?: string;
  from?: Date;
  to?: Date;
  /** A provider that handled one of its attempts (twilio, wechat, smtp, sandbox…). */
  provider?: string;
  /** The delivery's last error code. */
  errorCode?: string;
  /** Free text in the policy's title (Chinese or English), case-insensitive. */
  q?: string;
  /** Only deliveries of these departments' policies (none when empty); all when absent. */
  departmentIds?: number[];
  /** To this address (normalised: E.164 phone, email or WeChat openid), found without scanning the outbox (console-queries.ts). */
  recipient?: string;
  /** To these contacts (the console pages a recipient search by the contacts it found), found the same way. */
  contactIds?: number[];
  /** To the contacts of the enterprises with this credit code or with it in their name, found the same way. */
  enterprise?: string;
}

// LIKE treats % _ and \ as special: a search for "100%" means the characters.
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;

function filterSql(f: DeliveryFilter): SQL | undefined {
  return and(
    f.policyId ? eq(deliveries.policyId, f.policyId) : undefined,
    f.enterpriseId ? eq(deliveries.enterpriseId, f.enterpriseId) : undefined,
    f.contactId ? eq(deliveries.contactId, f.contactId) : undefined,
    f.channel ? eq(deliveries.channel, f.channel) : undefined,
    f.status ? eq(deliveries.status, f.status) : undefined,
    f.from ? gte(deliveries.createdAt, f.from) : undefined,
    f.to ? lt(deliveries.createdAt, f.to) : undefined,
    f.errorCode ? eq(deliveries.errorCode, f.errorCode) : undefined,
    // Through the attempts' delivery index: one probe per delivery looked at.
    f.provider
      ? sql`exists (select 1 from ${deliveryAttempts} where ${deliveryAttempts.deliveryId} = ${deliveries.id} and ${deliveryAttempts.provider} = ${f.provider})`
      : undefined,
    // Policies are few next to deliveries: match their titles once, then filter by id.
    f.q
      ? sql`${deliveries.policyId} in (select ${policies.id} from ${policies} where ${policies.title} ilike ${likePattern(f.q)} or ${policies.titleEn} ilike ${likePattern(f.q)})`
      : undefined,
    f.departmentIds
      ? sql`${deliveries.policyId} in (select ${policies.id} from ${policies} where ${policies.departmentId} = any(${bigintArray(f.departmentIds)}))`
      : undefined,
    f.recipient ? deliveriesOfContacts(contactsWithAddress(f.recipient)) : undefined,
    f.contactIds ? deliveriesOfContacts(contactsWithIds(f.contactIds)) : undefined,
    f.enterprise ? deliveriesOfContacts(contactsOfEnterprises(f.enterprise)) : undefined,
  );
}

/** Newest first. */
export const listDeliveries = (db: Queryable, f: DeliveryFilter, p: { before?: number; limit: number }) =>
  db
    .select()
    .from(deliveries)
    .where(and(filterSql(f), p.before ? lt(deliveries.id, p.before) : undefined))
    .orderBy(desc(deliveries.id))
    .limit(p.limit + 1);

export async function getDeliveryWithHistory(
  db: Queryable,
  id: number,
): Promise<{ delivery: Delivery; attempts: DeliveryAttempt[]; events: DeliveryEvent[] } | undefined> {
  const [delivery] = await db.select().from(deliveries).where(eq(deliveries.id, id));
  if (!delivery) return undefined;
  const attempts = await db.select().from(deliveryAttempts).where(eq(deliveryAttempts.deliveryId, id)).orderBy(asc(deliveryAttempts.id));
  const events = await db.select().from(deliveryEvents).where(eq(deliveryEvents.deliveryId, id)).orderBy(asc(deliveryEvents.occurredAt));
  return { delivery, attempts, events };
}

export interface DeliveryWhy {
  categories: { id: number; code: string; nameZh: string }[];
  groups: { id: number; name: string }[];
}

/** "Why did I get this": the categories and service groups a delivery matched, by name. */
export async function deliveryWhy(db: Queryable, d: Pick<Delivery, 'matchedCategoryIds' | 'matchedGroupIds'>): Promise<DeliveryWhy> {
  const c = categories;
  const g = serviceGroups;
  return {
    categories: decodeRows(
      await db.execute(
        sql`select ${c.id}, ${c.code}, ${c.nameZh} from ${c} where ${c.id} = any(${bigintArray(d.matchedCategoryIds ?? [])}) order by ${c.id}`,
      ),
      (r) => ({ id: toNumber(r.id), code: toText(r.code), nameZh: toText(r.name_zh) }),
    ),
    groups: decodeRows(
      await db.execute(
        sql`select ${g.id}, ${g.name} from ${g} where ${g.id} = any(${bigintArray(d.matchedGroupIds ?? [])}) order by ${g.id}`,
      ),
      (r) => ({ id: toNumber(r.id), name: toText(r.name) }),
    ),
  };
}

export interface DeliveryOpens {
  firstOpenedAt: Date;
  lastOpenedAt: Date;
  opens: number;
  /** The first open that counted as a person's (engagement); null when every open was a machine's. */
  engagedAt: Date | null;
  /** Opens by machines (HEAD, scanners, too soon after the send): recorded, not counted. */
  machineOpens: number;
}

export interface DeliveryStory {
  delivery: Delivery;
  attempts: DeliveryAttempt[];
  events: DeliveryEvent[];
  opens: DeliveryOpens | null;
  /** The delivery this one is the fallback of, when it is one. */
  fallbackOf: Delivery | null;
  /** The deliveries that took over from this one on the contact's next channels, in order. */
  fallbacks: Delivery[];
  /** The delivery that carried its message: the one it was merged into, or its digest. */
  carriedBy: Delivery | null;
  /** When it moved to the archive (queries/archive-queries.ts); null while it is in the outbox. */
  archivedAt: Date | null;
}

/** Everything that happened to one delivery, for its timeline. */
export async function getDeliveryStory(db: Queryable, id: number): Promise<DeliveryStory | undefined> {
  const history = await getDeliveryWithHistory(db, id);
  if (!history) return getArchivedDeliveryStory(db, id);
  const d = history.delivery;
  const o = deliveryOpens;
  const [opens = null] = decodeRows(
    await db.execute(
      sql`select ${o.firstOpenedAt}, ${o.lastOpenedAt}, ${o.opens}, ${o.engagedAt}, ${o.machineOpens} from ${o} where ${o.deliveryId} = ${id}`,
    ),
    (r): DeliveryOpens => ({
      firstOpenedAt: toDate(r.first_opened_at),
      lastOpenedAt: toDate(r.last_opened_at),
      opens: toNumber(r.opens),
      engagedAt: orNull(toDate, r.engaged_at),
      machineOpens: toNumber(r.machine_opens),
    }),
  );
  const byId = async (other: number | null) =>
    other === null ? null : ((await db.select().from(deliveries).where(eq(deliveries.id, other)))[0] ?? null);
  // A fallback has the same policy, version and contact: found through the unique key's prefix.
  const fallbacks =
    d.policyId === null
      ? []
      : await db
          .select()
          .from(deliveries)
          .where(
            and(
              eq(deliveries.policyId, d.policyId),
              d.policyVersion === null ? undefined : eq(deliveries.policyVersion, d.policyVersion),
              eq(deliveries.contactId, d.contactId),
              eq(deliveries.fallbackOf, id),
            ),
          )
          .orderBy(asc(deliveries.id));
  return {
    ...history,
    opens,
    fallbackOf: await byId(d.fallbackOf),
    fallbacks,
    carriedBy: await byId(d.status === 'merged' ? d.duplicateOf : d.status === 'digested' ? d.digestId : null),
    archivedAt: null,
  };
}

export interface DeliveryExportRow {
  id: number;
  createdAt: Date;
  policyId: number | null;
  policyVersion: number | null;
  docNumber: string | null;
  policyTitle: string | null;
  kind: string;
  enterpriseId: number;
  contactId: number;
  channel: string;
  status: string;
  attempts: number;
  provider: string | null;
  errorCode: string | null;
  providerMessageId: string | null;
  sentAt: Date | null;
  finishedAt: Date | null;
  firstOpenedAt: Date | null;
}

/** The newest delivery id: an export stops there, so it is the log as it was when it began. */
export async function latestDeliveryId(db: Queryable): Promise<number> {
  const [latest] = decodeRows(await db.execute(sql`select coalesce(max(${deliveries.id}), 0) as id from ${deliveries}`), (r) =>
    toNumber(r.id),
  );
  return latest;
}

/**
 * One page of an export, oldest first: the matching deliveries with after < id <= upto (a keyset
 * page along the primary key, so each page costs the same however deep the export is). The
 * address is never included: the contact id names the recipient.
 */
export async function exportDeliveryPage(
  db: Queryable,
  f: DeliveryFilter,
  page: { after: number; upto: number; limit: number },
): Promise<DeliveryExportRow[]> {
  // d: the page of deliveries (a subquery of deliveries rows), p its policy, o its opens, a its attempts.
  const d = alias(deliveries, 'd');
  const p = alias(policies, 'p');
  const o = alias(deliveryOpens, 'o');
  const a = alias(deliveryAttempts, 'a');
  return decodeRows(
    await db.execute(sql`
      select ${d.id}, ${d.createdAt}, ${d.policyId}, ${d.policyVersion}, ${p.docNumber}, ${p.title}, ${d.kind}, ${d.enterpriseId},
        ${d.contactId}, ${d.channel}, ${d.status}, ${d.attempts}, ${d.errorCode}, ${d.providerMessageId}, ${d.sentAt}, ${d.finishedAt},
        -- An aggregate, not ORDER BY id DESC LIMIT 1: with that, the planner may walk the attempts'
        -- primary key backwards for each delivery that has none (5 ms each on a 40,000-attempt table).
        (select (array_agg(${a.provider} order by ${a.id} desc))[1] from ${deliveryAttempts} ${a} where ${a.deliveryId} = ${d.id}) as provider,
        ${o.firstOpenedAt}
      from (
        select * from ${deliveries}
        where ${deliveries.id} > ${page.after} and ${deliveries.id} <= ${page.upto} and ${filterSql(f) ?? sql`true`}
        order by ${deliveries.id}
        limit ${page.limit}
      ) ${d}
      left join ${policies} ${p} on ${p.id} = ${d.policyId}
      left join ${deliveryOpens} ${o} on ${o.deliveryId} = ${d.id}
      order by ${d.id}`),
    (r): DeliveryExportRow => ({
      id: toNumber(r.id),
      createdAt: toDate(r.created_at),
      policyId: orNull(toNumber, r.policy_id),
      policyVersion: orNull(toNumber, r.policy_version),
      docNumber: orNull(toText, r.doc_number),
      policyTitle: orNull(toText, r.title),
      kind: toText(r.kind),
      enterpriseId: toNumber(r.enterprise_id),
      contactId: toNumber(r.contact_id),
      channel: toText(r.channel),
      status: toText(r.status),
      attempts: toNumber(r.attempts),
      provider: orNull(toText, r.provider),
      errorCode: orNull(toText, r.error_code),
      providerMessageId: orNull(toText, r.provider_message_id),
      sentAt: orNull(toDate, r.sent_at),
      finishedAt: orNull(toDate, r.finished_at),
      firstOpenedAt: orNull(toDate, r.first_opened_at),
    }),
  );
}

export interface RetryFilter {
  policyId: number;
  channel?: string;
  errorCode?: string;
  /** failed, undelivered, or both when absent. */
  status?: 'failed' | 'undelivered';
}

/**
 * Re-queues failed deliveries of a published policy's current version (after a provider outage):
 * back to pending with a fresh attempt budget, due now. Never one that is not failed or
 * undelivered, and never one whose contact has since been reached, or is being reached, for this
 * policy on another channel (a fallback sent, pending or merged). Of a contact's several failed
 * deliveries (a channel and its failed fallbacks), only the first is re-queued: it falls back
 * again if it fails again. Returns the ids re-queued.
 */
export async function requeueFailedDeliveries(tx: Queryable, f: RetryFilter): Promise<number[]> {
  const statuses = f.status ? [f.status] : FAILED_STATUSES;
  const d = alias(deliveries, 'd');
  const p = alias(policies, 'p');
  const other = alias(deliveries, 'other');
  return decodeRows(
    await tx.execute(sql`
      with candidates as (
        select distinct on (${d.contactId}, ${d.kind}) ${d.id}
        from ${deliveries} ${d}
        join ${policies} ${p} on ${p.id} = ${d.policyId} and ${p.status} = 'published' and ${d.policyVersion} = ${p.version}
        where ${d.policyId} = ${f.policyId} and ${d.kind} in ('policy', 'update')
          and ${d.status} = any(${textArray(statuses)})
          ${f.channel ? sql`and ${d.channel} = ${f.channel}` : sql``}
          ${f.errorCode ? sql`and ${d.errorCode} = ${f.errorCode}` : sql``}
          and not exists (
            select 1 from ${deliveries} ${other}
            where ${other.policyId} = ${d.policyId} and ${other.policyVersion} = ${d.policyVersion} and ${other.contactId} = ${d.contactId}
              and ${other.kind} = ${d.kind} and ${other.id} <> ${d.id}
              and not ${other.status} ${inStatuses([...FAILED_STATUSES, ...DROPPED_STATUSES])})
        order by ${d.contactId}, ${d.kind}, ${d.id}
      )
      update ${deliveries} ${d}
      set ${bare(d.status)} = 'pending', ${bare(d.attempts)} = 0, ${bare(d.nextAttemptAt)} = now(), ${bare(d.lockedUntil)} = null,
        ${bare(d.errorCode)} = null, ${bare(d.finishedAt)} = null, ${bare(d.updatedAt)} = now()
      from candidates c
      where ${d.id} = c.id and ${d.status} = any(${textArray(statuses)})
      returning ${d.id}`),
    (r) => toNumber(r.id),
  );
}
