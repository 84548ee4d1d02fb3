// The delivery log (issue 5, "Delivery logs"): search, one delivery's whole story, a streaming
// export, and re-queueing failed deliveries after an outage.
import { and, asc, desc, eq, gte, lt, type SQL, sql } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { DROPPED_STATUSES, FAILED_STATUSES, inStatuses } from '../delivery-statuses';
import { rowsOf } from '../rows';
import { bigintArray, textArray } from '../sql-arrays';
import { deliveries, deliveryAttempts, deliveryEvents } from '../schema';
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
      ? sql`exists (select 1 from delivery_attempts a where a.delivery_id = ${deliveries.id} and a.provider = ${f.provider})`
      : undefined,
    // Policies are few next to deliveries: match their titles once, then filter by id.
    f.q
      ? sql`${deliveries.policyId} in (select id from policies where title ilike ${likePattern(f.q)} or title_en ilike ${likePattern(f.q)})`
      : undefined,
    f.departmentIds
      ? sql`${deliveries.policyId} in (select id from policies where department_id = any(${bigintArray(f.departmentIds)}))`
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
  const categories = rowsOf<{ id: string | number; code: string; name_zh: string }>(
    await db.execute(sql`select id, code, name_zh from categories where id = any(${bigintArray(d.matchedCategoryIds ?? [])}) order by id`),
  );
  const groups = rowsOf<{ id: string | number; name: string }>(
    await db.execute(sql`select id, name from service_groups where id = any(${bigintArray(d.matchedGroupIds ?? [])}) order by id`),
  );
  return {
    categories: categories.map((c) => ({ id: Number(c.id), code: c.code, nameZh: c.name_zh })),
    groups: groups.map((g) => ({ id: Number(g.id), name: g.name })),
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
  const [opens] = rowsOf<{
    first_opened_at: string;
    last_opened_at: string;
    opens: number;
    engaged_at: string | null;
    machine_opens: number;
  }>(
    await db.execute(
      sql`select first_opened_at, last_opened_at, opens, engaged_at, machine_opens from delivery_opens where delivery_id = ${id}`,
    ),
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
    opens: opens
      ? {
          firstOpenedAt: new Date(opens.first_opened_at),
          lastOpenedAt: new Date(opens.last_opened_at),
          opens: Number(opens.opens),
          engagedAt: opens.engaged_at ? new Date(opens.engaged_at) : null,
          machineOpens: Number(opens.machine_opens),
        }
      : null,
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
  const [row] = rowsOf<{ id: string | number | null }>(await db.execute(sql`select max(id) as id from deliveries`));
  return Number(row.id ?? 0);
}

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select d.id, d.created_at, d.policy_id, d.policy_version, p.doc_number, p.title, d.kind, d.enterprise_id, d.contact_id,
        d.channel, d.status, d.attempts, d.error_code, d.provider_message_id, d.sent_at, d.finished_at,
        -- An aggregate, not ORDER BY id DESC LIMIT 1: with that, the planner may walk the attempts'
        -- primary key backwards for each delivery that has none (5 ms each on a 40,000-attempt table).
        (select (array_agg(a.provider order by a.id desc))[1] from delivery_attempts a where a.delivery_id = d.id) as provider,
        o.first_opened_at
      from (
        select * from deliveries
        where deliveries.id > ${page.after} and deliveries.id <= ${page.upto} and ${filterSql(f) ?? sql`true`}
        order by deliveries.id
        limit ${page.limit}
      ) d
      left join policies p on p.id = d.policy_id
      left join delivery_opens o on o.delivery_id = d.id
      order by d.id`),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    createdAt: new Date(r.created_at as string),
    policyId: r.policy_id === null ? null : Number(r.policy_id),
    policyVersion: r.policy_version === null ? null : Number(r.policy_version),
    docNumber: (r.doc_number as string | null) ?? null,
    policyTitle: (r.title as string | null) ?? null,
    kind: r.kind as string,
    enterpriseId: Number(r.enterprise_id),
    contactId: Number(r.contact_id),
    channel: r.channel as string,
    status: r.status as string,
    attempts: Number(r.attempts),
    provider: (r.provider as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    providerMessageId: (r.provider_message_id as string | null) ?? null,
    sentAt: date(r.sent_at),
    finishedAt: date(r.finished_at),
    firstOpenedAt: date(r.first_opened_at),
  }));
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
  const rows = rowsOf<{ id: string | number }>(
    await tx.execute(sql`
      with candidates as (
        select distinct on (d.contact_id, d.kind) d.id
        from deliveries d
        join policies p on p.id = d.policy_id and p.status = 'published' and d.policy_version = p.version
        where d.policy_id = ${f.policyId} and d.kind in ('policy', 'update')
          and d.status = any(${textArray(statuses)})
          ${f.channel ? sql`and d.channel = ${f.channel}` : sql``}
          ${f.errorCode ? sql`and d.error_code = ${f.errorCode}` : sql``}
          and not exists (
            select 1 from deliveries other
            where other.policy_id = d.policy_id and other.policy_version = d.policy_version and other.contact_id = d.contact_id
              and other.kind = d.kind and other.id <> d.id
              and not other.status ${inStatuses([...FAILED_STATUSES, ...DROPPED_STATUSES])})
        order by d.contact_id, d.kind, d.id
      )
      update deliveries d
      set status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = null, error_code = null,
        finished_at = null, updated_at = now()
      from candidates c
      where d.id = c.id and d.status = any(${textArray(statuses)})
      returning d.id`),
  );
  return rows.map((r) => Number(r.id));
}
