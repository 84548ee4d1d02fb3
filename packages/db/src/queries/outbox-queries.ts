// The outbox, in one place: claim, ack, sweep, receipts (ARCHITECTURE.md "Delivery states").
// A claim is one statement (FOR UPDATE SKIP LOCKED, urgent first) that commits at once and sets a
// lease; no transaction is held across a provider call. Acks and attempts go in batches. A
// terminal state never moves back: every update below names the states it may leave.
import type { ReachabilityRule } from '@policy-push/core';
import { sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Queryable } from '../create-db';
import { FAILED_STATUSES, inStatuses, TERMINAL_STATUSES } from '../delivery-statuses';
import { decodeRows, orNull, rowsOf, toBoolean, toDate, toNumber, toText, toTextArray } from '../rows';
import { contacts, deliveries, departments, policies, policyVersions, reachEnterprises } from '../schema';
import { claimAddresses, claimKind } from './address-claims-queries';
import { bigintArray, booleanArray, intArray, textArray } from '../sql-arrays';
import { type DigestItem, loadDigestItems, toWechatTemplate, type WechatTemplate } from './digest-queries';
import { reachableSql } from './reachable-sql';
import { reminderOpenedSql } from './reminder-queries';

/** The deployment's default (REQUIRE_CONFIRMED_EMAIL off), for callers that are given no rule. */
const CONFIRMATION_NOT_REQUIRED: ReachabilityRule = { requireConfirmedEmail: false };

export interface ClaimedDelivery {
  id: number;
  policyId: number | null;
  policyVersion: number | null;
  contactId: number;
  channel: 'wechat' | 'sms' | 'email';
  kind: 'policy' | 'update' | 'revocation' | 'digest' | 'confirmation' | 'reminder';
  attempts: number;
  priority: number;
}

/**
 * Claims up to `limit` due deliveries. `channels`, when given, are the channels that may send now
 * (the dispatcher's: circuit not open, allowance left): the others' deliveries are not touched, so
 * a closed channel costs no claim, no ack and no allowance however long it stays closed.
 */
export async function claimDeliveries(
  db: Queryable,
  p: { limit: number; leaseSeconds: number; channels?: readonly string[] },
): Promise<ClaimedDelivery[]> {
  if (p.channels && !p.channels.length) return [];
  const mayClaim = p.channels ? sql`and channel = any(${textArray([...p.channels])})` : sql``;
  const rows = rowsOf<Record<string, string | number | null>>(
    await db.execute(sql`
      with claimable as (
        select id from deliveries
        where status = 'pending' and next_attempt_at <= now()
          -- a channel its provider closed for a while (429, quota) is left alone until it reopens
          and channel <> all(array(select channel from channel_pauses where paused_until > now()))
          ${mayClaim}
        order by priority, next_attempt_at
        limit ${p.limit}
        for update skip locked
      )
      -- By key: a join here could be planned as a scan of the outbox on a connection opened while it was empty.
      update deliveries d
      set status = 'sending', attempts = d.attempts + 1,
          locked_until = now() + ${p.leaseSeconds} * interval '1 second', updated_at = now()
      where d.id = any(array(select id from claimable))
      returning d.id, d.policy_id, d.policy_version, d.contact_id, d.channel, d.kind, d.attempts, d.priority`),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    policyId: r.policy_id === null ? null : Number(r.policy_id),
    policyVersion: r.policy_version === null ? null : Number(r.policy_version),
    contactId: Number(r.contact_id),
    channel: r.channel as ClaimedDelivery['channel'],
    kind: r.kind as ClaimedDelivery['kind'],
    attempts: Number(r.attempts),
    priority: Number(r.priority),
  }));
}

/** What a claimed batch needs to render its messages: contacts, policies and departments. */
export interface SendContext {
  contacts: Map<number, ContactForMessage>;
  policies: Map<number, PolicyForMessage>;
  /** For digest deliveries: the policies each one lists. */
  digests: Map<number, DigestItem[]>;
  /** Reminders whose enterprise has engaged with the policy since they were planned: not sent. */
  engagedReminders: Set<number>;
}

export interface ContactForMessage {
  phone: string | null;
  email: string | null;
  wechatOpenid: string | null;
  locale: string;
  optedOut: string[];
  suppressed: boolean;
  emailConfirmedAt: Date | null;
  quietHours: string | null;
}

export interface PolicyForMessage {
  id: number;
  version: number;
  status: string;
  docNumber: string;
  title: string;
  summary: string;
  titleEn: string | null;
  summaryEn: string | null;
  url: string;
  priority: string;
  publishAt: Date;
  interpretationUrls: string[];
  validUntil: Date | null;
  /** What the policy asks must be done by then (reminders say so, and are not sent after it). */
  actionBy?: Date | null;
  /** Published with a test key: sent through the sandbox only, whatever providers are configured. */
  test?: boolean;
  /** The version before this one, for update notices that say what changed. */
  previous: { title: string; summary: string; url: string; interpretationUrls: string[]; validUntil: Date | null } | null;
  department: {
    nameZh: string;
    nameEn: string;
    smsSignature: string;
    wechatTemplate: WechatTemplate | null;
  };
}

export async function loadSendContext(db: Queryable, batch: ClaimedDelivery[]): Promise<SendContext> {
  const contactIds = [...new Set(batch.map((d) => d.contactId))];
  const policyIds = [...new Set(batch.flatMap((d) => (d.policyId === null ? [] : [d.policyId])))];
  const c = contacts;
  const contactRows = decodeRows(
    await db.execute(sql`
      select ${c.id}, ${c.phone}, ${c.email}, ${c.wechatOpenid}, ${c.locale}, ${c.optedOut}, ${c.suppressed},
        ${c.emailConfirmedAt}, ${c.quietHours}
      from ${c} where ${c.id} = any(${bigintArray(contactIds)})`),
    (r): [number, ContactForMessage] => [
      toNumber(r.id),
      {
        phone: orNull(toText, r.phone),
        email: orNull(toText, r.email),
        wechatOpenid: orNull(toText, r.wechat_openid),
        locale: toText(r.locale),
        optedOut: toTextArray(r.opted_out),
        suppressed: toBoolean(r.suppressed),
        emailConfirmedAt: orNull(toDate, r.email_confirmed_at),
        quietHours: orNull(toText, r.quiet_hours),
      },
    ],
  );
  const p = policies;
  const d = departments;
  // The version sent (its snapshot) and the one before it (for update notices).
  const cur = alias(policyVersions, 'cur');
  const pv = alias(policyVersions, 'pv');
  const policyRows = decodeRows(
    await db.execute(sql`
      select ${p.id}, ${p.version}, ${p.status}, ${p.docNumber}, ${p.title}, ${p.summary}, ${p.titleEn}, ${p.summaryEn}, ${p.url},
        ${p.priority}, ${p.publishAt}, ${p.interpretationUrls}, ${p.validUntil}, ${p.test}, ${p.actionBy},
        -- The department as the version was published (its snapshot), so that a message shown
        -- later from the snapshot is the one that was sent; as it is now for older versions.
        coalesce(${cur.snapshot} #>> '{department,nameZh}', ${d.nameZh}) as name_zh,
        coalesce(${cur.snapshot} #>> '{department,nameEn}', ${d.nameEn}) as name_en,
        coalesce(${cur.snapshot} #>> '{department,smsSignature}', ${d.smsSignature}) as sms_signature,
        case when ${cur.snapshot} is null then ${d.wechatTemplate} else ${cur.snapshot} #> '{department,wechatTemplate}' end
          as wechat_template,
        ${pv.title} as previous_title, ${pv.summary} as previous_summary, ${pv.url} as previous_url,
        ${pv.interpretationUrls} as previous_interpretation_urls, ${pv.validUntil} as previous_valid_until
      from ${p} join ${d} on ${d.id} = ${p.departmentId}
      left join ${policyVersions} ${cur} on ${cur.policyId} = ${p.id} and ${cur.version} = ${p.version}
      left join ${policyVersions} ${pv} on ${pv.policyId} = ${p.id} and ${pv.version} = ${p.version} - 1
      where ${p.id} = any(${bigintArray(policyIds)})`),
    (r): PolicyForMessage => ({
      id: toNumber(r.id),
      version: toNumber(r.version),
      status: toText(r.status),
      docNumber: toText(r.doc_number),
      title: toText(r.title),
      summary: toText(r.summary),
      titleEn: orNull(toText, r.title_en),
      summaryEn: orNull(toText, r.summary_en),
      url: toText(r.url),
      priority: toText(r.priority),
      publishAt: toDate(r.publish_at),
      interpretationUrls: toTextArray(r.interpretation_urls),
      validUntil: orNull(toDate, r.valid_until),
      actionBy: orNull(toDate, r.action_by),
      test: toBoolean(r.test),
      previous:
        r.previous_title === null
          ? null
          : {
              title: toText(r.previous_title),
              summary: toText(r.previous_summary),
              url: toText(r.previous_url),
              interpretationUrls: toTextArray(r.previous_interpretation_urls),
              validUntil: orNull(toDate, r.previous_valid_until),
            },
      department: {
        nameZh: toText(r.name_zh),
        nameEn: toText(r.name_en),
        smsSignature: toText(r.sms_signature),
        wechatTemplate: orNull(toWechatTemplate, r.wechat_template),
      },
    }),
  );
  const digests = await loadDigestItems(
    db,
    batch.filter((b) => b.kind === 'digest').map((b) => b.id),
  );
  // Engagement as the reach funnel last counted it (reach_enterprises.engaged), or an open of a reminder.
  const reminderIds = batch.filter((b) => b.kind === 'reminder').map((b) => b.id);
  const re = reachEnterprises;
  const engaged = reminderIds.length
    ? decodeRows(
        await db.execute(sql`
          select ${deliveries.id} from ${deliveries}
          left join ${re} on ${re.policyId} = ${deliveries.policyId} and ${re.enterpriseId} = ${deliveries.enterpriseId}
          where ${deliveries.id} = any(${bigintArray(reminderIds)})
            and (${re.engaged} > 0 or ${reminderOpenedSql(sql`${deliveries.policyId}`, sql`${deliveries.enterpriseId}`)})`),
        (r) => toNumber(r.id),
      )
    : [];
  return {
    digests,
    engagedReminders: new Set(engaged),
    contacts: new Map(contactRows),
    policies: new Map(policyRows.map((policy) => [policy.id, policy])),
  };
}

/** The end of one send, as the dispatcher decided it. */
export interface SendOutcome {
  id: number;
  attempt: number;
  /** sent | pending (retry later) | failed | suppressed | cancelled */
  status: 'sent' | 'pending' | 'failed' | 'suppressed' | 'cancelled' | 'held';
  providerMessageId: string | null;
  errorCode: string | null;
  /** For retries: wait this long before the next attempt. */
  retryInMs: number;
  /** The provider was closed (pause, quota, open circuit): this claim does not count as an attempt. */
  uncounted?: boolean;
  /** With status held: the digest it now waits for (the per-recipient cap was reached). */
  holdFor?: 'daily';
  /**
   * performance.now() when the provider answered. The attempt and the delivery's sent_at are dated
   * that long before the ack, in the database's clock: a batch is acked when its slowest send ends,
   * and sent_at is when this message went, not when the batch was written.
   */
  answeredAt?: number;
  /** Recorded as an attempt when a provider was called. */
  attemptRecord: {
    outcome: string;
    /** The adapter's provider name (twilio, wechat, smtp, sandbox…), for the delivery log's provider filter. */
    provider?: string;
    providerCode: string | null;
    error: string | null;
    latencyMs: number;
    response: unknown;
  } | null;
}

/**
 * Applies a batch of outcomes in two statements: the attempts (insert-only) and the status
 * changes. Only rows still `sending` move: a delivery whose lease expired and was taken by
 * someone else, or that a receipt already finished, is left alone. Returns the ids updated.
 */
export async function ackDeliveries(
  db: Queryable,
  outcomes: SendOutcome[],
  worker: string,
  rule: ReachabilityRule = CONFIRMATION_NOT_REQUIRED,
): Promise<number[]> {
  if (!outcomes.length) return [];
  const now = performance.now();
  const msAgo = (o: SendOutcome) => (o.answeredAt === undefined ? 0 : Math.max(0, Math.round(now - o.answeredAt)));
  const attempts = outcomes.filter((o) => o.attemptRecord);
  // One transaction: a delivery never ends failed without the fallback it hands over to, whatever
  // moment the process dies at (a crash before the commit leaves the batch `sending`, and the lease
  // sweep sends it again, as for a crash before the ack).
  const acked = await db.transaction(async (tx) => {
    if (attempts.length) {
      await tx.execute(sql`
      insert into delivery_attempts (delivery_id, attempt, outcome, provider, provider_code, provider_message_id, error, latency_ms, worker, response, created_at)
      select v.id, v.attempt, v.outcome, v.provider, v.code, v.pmid, v.error, v.latency, ${worker}, v.response::jsonb,
        now() - v.ago_ms * interval '1 millisecond'
      from unnest(${bigintArray(attempts.map((o) => o.id))}, ${intArray(attempts.map((o) => o.attempt))},
        ${textArray(attempts.map((o) => o.attemptRecord!.outcome))}, ${textArray(attempts.map((o) => o.attemptRecord!.provider ?? null) as string[])},
        ${textArray(attempts.map((o) => o.attemptRecord!.providerCode) as string[])},
        ${textArray(attempts.map((o) => o.providerMessageId) as string[])}, ${textArray(attempts.map((o) => o.attemptRecord!.error) as string[])},
        ${intArray(attempts.map((o) => o.attemptRecord!.latencyMs))},
        ${textArray(attempts.map((o) => (o.attemptRecord!.response === undefined ? null : JSON.stringify(o.attemptRecord!.response))) as string[])},
        ${intArray(attempts.map(msAgo))})
        as v(id, attempt, outcome, provider, code, pmid, error, latency, response, ago_ms)`);
    }
    const rows = rowsOf<{ id: string | number }>(
      await tx.execute(sql`
      update deliveries d
      set status = v.status,
          provider_message_id = coalesce(v.pmid, d.provider_message_id),
          attempts = d.attempts - case when v.uncounted then 1 else 0 end,
          digest_period = coalesce(v.hold_for, d.digest_period),
          error_code = v.code,
          locked_until = null,
          next_attempt_at = case when v.status = 'pending' then now() + v.retry_ms * interval '1 millisecond' else d.next_attempt_at end,
          sent_at = case when v.status = 'sent' then now() - v.ago_ms * interval '1 millisecond' else d.sent_at end,
          finished_at = case when v.status ${inStatuses(TERMINAL_STATUSES)} then now() else d.finished_at end,
          updated_at = now()
      from unnest(${bigintArray(outcomes.map((o) => o.id))}, ${textArray(outcomes.map((o) => o.status))},
        ${textArray(outcomes.map((o) => o.providerMessageId) as string[])}, ${textArray(outcomes.map((o) => o.errorCode) as string[])},
        ${intArray(outcomes.map((o) => o.retryInMs))}, ${booleanArray(outcomes.map((o) => o.uncounted ?? false))},
        ${textArray(outcomes.map((o) => o.holdFor ?? null) as string[])}, ${intArray(outcomes.map(msAgo))})
        as v(id, status, pmid, code, retry_ms, uncounted, hold_for, ago_ms)
      -- d.id = any(…) as well: the rows are found by key whatever the join with v is planned as.
      where d.id = any(${bigintArray(outcomes.map((o) => o.id))}) and d.id = v.id and d.status = 'sending'
      returning d.id`),
    );
    const ids = rows.map((r) => Number(r.id));
    await createFallbacks(tx, ids, rule);
    return ids;
  });
  // After the status change has committed, not in its transaction: recordReceipt stores a receipt
  // before it updates, and its update finds a delivery by the provider id this ack wrote, so a
  // receipt either is stored before this look-up (and applied here) or updates after the commit
  // above (and finds the delivery `sent`). Neither way is one lost. An early "undelivered" and its
  // fallback commit together.
  await db.transaction(async (tx) => createFallbacks(tx, await applyStoredReceipts(tx, acked), rule));
  return acked;
}

/** Keeps the lease of a batch still being sent (a slow provider, a rate limit) from running out. */
export async function extendLeases(db: Queryable, ids: number[], leaseSeconds: number): Promise<void> {
  if (!ids.length) return;
  await db.execute(sql`
    update deliveries set locked_until = now() + ${leaseSeconds} * interval '1 second'
    where id = any(${bigintArray(ids)}) and status = 'sending'`);
}

/** Returns deliveries whose lease expired (their dispatcher died) to pending. */
export async function sweepExpiredLeases(db: Queryable): Promise<number> {
  const rows = rowsOf<{ n: number }>(
    await db.execute(sql`
      with swept as (
        update deliveries set status = 'pending', locked_until = null, next_attempt_at = now(), updated_at = now()
        where status = 'sending' and locked_until < now()
        returning 1
      )
      select count(*)::int as n from swept`),
  );
  return rows[0].n;
}

/** Gives back deliveries claimed but not sent (graceful shutdown): no attempt is counted. */
export async function releaseDeliveries(db: Queryable, ids: number[]): Promise<void> {
  if (!ids.length) return;
  await db.execute(sql`
    update deliveries set status = 'pending', attempts = greatest(attempts - 1, 0), locked_until = null, updated_at = now()
    where id = any(${bigintArray(ids)}) and status = 'sending'`);
}

export interface ReceiptInput {
  channel: string;
  providerMessageId: string;
  status: 'sent' | 'delivered' | 'undelivered' | 'failed';
  errorCode?: string | null;
  occurredAt: Date;
  payload?: unknown;
}

// How far along each status is; a receipt may only move a delivery forward.
const RECEIPT_FROM: Record<ReceiptInput['status'], string[]> = {
  sent: ['sending'],
  delivered: ['sending', 'sent'],
  undelivered: ['sending', 'sent'],
  failed: ['sending', 'sent'],
};

/**
 * Stores a receipt (idempotently: a repeat is ignored) and applies it to its delivery when that
 * delivery is known by provider id and the receipt moves it forward. A receipt that arrives before
 * the send is acked is kept and applied by the ack. Returns the delivery id when one was updated.
 */
export async function recordReceipt(
  db: Queryable,
  r: ReceiptInput,
  rule: ReachabilityRule = CONFIRMATION_NOT_REQUIRED,
): Promise<{ stored: boolean; deliveryId: number | null }> {
  const stored = rowsOf<{ id: string | number }>(
    await db.execute(sql`
      insert into delivery_events (delivery_id, channel, provider_message_id, type, error_code, payload, occurred_at)
      values ((select id from deliveries where provider_message_id = ${r.providerMessageId} and channel = ${r.channel} limit 1),
        ${r.channel}, ${r.providerMessageId}, ${r.status}, ${r.errorCode ?? null}, ${JSON.stringify(r.payload ?? null)}::jsonb, ${r.occurredAt.toISOString()})
      on conflict do nothing
      returning id`),
  );
  // The event is stored (and committed) first, the update comes second, so a receipt racing the
  // ack is never lost. The update, the event's link and the fallback commit together: a delivery
  // never ends failed without the fallback it hands over to.
  const deliveryId = await db.transaction(async (tx) => {
    const updated = rowsOf<{ id: string | number }>(
      await tx.execute(sql`
      update deliveries
      set status = ${r.status}, error_code = coalesce(${r.errorCode ?? null}, error_code),
          finished_at = case when ${r.status} = 'sent' then finished_at else now() end, updated_at = now()
      where provider_message_id = ${r.providerMessageId} and channel = ${r.channel}
        and status = any(${textArray(RECEIPT_FROM[r.status])})
      returning id`),
    );
    // Link the event to its delivery once the delivery is known by this provider id.
    await tx.execute(sql`
    update delivery_events set delivery_id = d.id
    from deliveries d
    where delivery_events.delivery_id is null and delivery_events.channel = ${r.channel}
      and delivery_events.provider_message_id = ${r.providerMessageId}
      and d.channel = ${r.channel} and d.provider_message_id = ${r.providerMessageId}`);
    const id = updated.length ? Number(updated[0].id) : null;
    if (id !== null && (r.status === 'failed' || r.status === 'undelivered')) await createFallbacks(tx, [id], rule);
    return id;
  });
  return { stored: stored.length > 0, deliveryId };
}

/** Applies receipts that were stored before their send was acked (the furthest one wins); returns the ids moved. */
async function applyStoredReceipts(db: Queryable, ids: number[]): Promise<number[]> {
  if (!ids.length) return [];
  const moved = rowsOf<{ id: string | number }>(
    await db.execute(sql`
    with early as (
      select distinct on (d.id) d.id, e.type, e.error_code
      from deliveries d
      join delivery_events e on e.channel = d.channel and e.provider_message_id = d.provider_message_id
      where d.id = any(${bigintArray(ids)}) and d.status = 'sent' and e.type in ('delivered', 'undelivered', 'failed')
      order by d.id, e.occurred_at desc
    ), linked as (
      update delivery_events e set delivery_id = early.id from early
      where e.delivery_id is null and e.provider_message_id = (select provider_message_id from deliveries where id = early.id)
    )
    update deliveries d set status = early.type, error_code = coalesce(early.error_code, d.error_code), finished_at = now(), updated_at = now()
    -- d.id = any(array(…early)) as well: by key whatever the join with early is planned as. The
    -- ids of early, not the batch's: given the batch's 200 ids, a plan made on an outbox of ~10,000
    -- rows scanned it instead (P12), to update what is almost always nothing.
    from early where d.id = any(array(select id from early)) and d.id = early.id and d.status = 'sent'
    returning d.id`),
  );
  return moved.map((r) => Number(r.id));
}

/**
 * Fallback (ARCHITECTURE.md): a delivery that ended failed or undelivered hands over to the first
 * of its fallback channels that the contact can still be reached on (reachable-sql.ts). The new delivery is linked
 * to the first; the unique key means a policy never uses one channel twice for a contact. It
 * claims its address like any other (claimAddresses): where another delivery of the version has
 * that address already, it is merged into it instead of sent. Returns the ids of the new deliveries.
 */
export async function createFallbacks(db: Queryable, ids: number[], rule: ReachabilityRule): Promise<number[]> {
  if (!ids.length) return [];
  // One transaction: a fallback is never claimable by a dispatcher before it has claimed its address.
  return db.transaction(async (tx) => {
    const rows = rowsOf<{
      id: string | number;
      policy_id: string | number;
      policy_version: number;
      kind: string;
      contact_id: string | number;
      channel: string;
    }>(
      await tx.execute(sql`
        -- The failed ones first, one primary-key look-up per id (limit 1 keeps each a look-up): joined
        -- to policies, the planner may walk every published policy's whole range of the unique key
        -- instead, and with "id = any(…)" a table of some thousands of rows is scanned (every ack).
        with d as materialized (
          select d.* from unnest(${bigintArray(ids)}) as k(id)
          cross join lateral (
            select id, policy_id, policy_version, enterprise_id, contact_id, kind, priority, matched_category_ids, matched_group_ids,
              fallback_channels
            from deliveries where id = k.id and status ${inStatuses(FAILED_STATUSES)}
            limit 1
          ) d
        )
        insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, priority,
          matched_category_ids, matched_group_ids, fallback_of, fallback_channels)
        select d.policy_id, d.policy_version, d.enterprise_id, d.contact_id, next.channel, d.kind, 'pending', d.priority,
          d.matched_category_ids, d.matched_group_ids, d.id, d.fallback_channels[next.position + 1:]
        from d
        join contacts c on c.id = d.contact_id
        join policies p on p.id = d.policy_id and p.version = d.policy_version and p.status = 'published'
        cross join lateral (
          select f.channel, f.position::int as position
          from unnest(d.fallback_channels) with ordinality as f(channel, position)
          where ${reachableSql('c', sql`f.channel`, rule)}
          order by f.position
          limit 1
        ) next
        on conflict do nothing
        returning id, policy_id, policy_version, kind, contact_id, channel`),
    );
    const byClaim = new Map<string, typeof rows>();
    for (const r of rows) {
      const key = `${r.policy_id}:${r.policy_version}:${claimKind(r.kind)}`;
      byClaim.set(key, [...(byClaim.get(key) ?? []), r]);
    }
    for (const group of byClaim.values()) {
      const [first] = group;
      await claimAddresses(
        tx,
        { policyId: Number(first.policy_id), policyVersion: first.policy_version, kind: claimKind(first.kind) },
        { ids: group.map((r) => Number(r.id)), contactIds: group.map((r) => Number(r.contact_id)), channels: group.map((r) => r.channel) },
      );
    }
    return rows.map((r) => Number(r.id));
  });
}

/**
 * Deliver-by for what waits unclaimed (issue 11): claims skip a paused channel (a 429, WeChat's
 * 45009 until Beijing midnight) and a channel whose circuit is open (`openCircuits`; a delivery
 * claimed as it opened went back to wait, marked circuit_open), so the deadline
 * check made when a delivery is sent never runs for them. A pending delivery of a policy whose
 * channel is paused at `now`, or that waits for an open circuit, and whose deliver-by time (its
 * policy's publication plus `deliverByMinutes`, as the send decides it) has passed ends failed
 * with `deliver_by_passed` and falls back to the contact's next channel; where no channel is left
 * it stays failed, with that reason. Quiet hours are never cut short (they are not a pause).
 * Works from stored state only, so any replica's sweep may run it. Returns the ids failed.
 */
export async function failOverdueWaits(
  db: Queryable,
  p: { now: Date; deliverByMinutes: { normal: number; urgent: number }; rule: ReachabilityRule; openCircuits?: readonly string[] },
): Promise<number[]> {
  const now = sql`${p.now.toISOString()}::timestamptz`;
  // Channels whose circuit is open in the calling dispatcher: it claims none of their deliveries
  // meanwhile, so they wait unclaimed, without the circuit_open mark a claimed one gets.
  const openCircuits = textArray([...(p.openCircuits ?? [])]);
  const rows = rowsOf<{ id: string | number }>(
    await db.execute(sql`
      update deliveries d
      set status = 'failed', error_code = 'deliver_by_passed', finished_at = ${now}, updated_at = now()
      from policies p
      where d.status = 'pending' and p.id = d.policy_id
        -- a reminder's deadline is its policy's actionBy, which the send checks
        and d.kind <> 'reminder'
        and (d.channel = any(array(select channel from channel_pauses where paused_until > ${now}))
          or (d.error_code = 'circuit_open' and d.next_attempt_at > ${now})
          or d.channel = any(${openCircuits}))
        -- still within the contact's quiet hours: the morning is the sensible hour, on any channel
        and not (d.error_code = 'quiet_hours' and d.next_attempt_at > ${now})
        -- priority 0 is urgent (deliveries.priority)
        and p.publish_at + case when d.priority = 0 then ${p.deliverByMinutes.urgent}::int else ${p.deliverByMinutes.normal}::int end
          * interval '1 minute' < ${now}
      returning d.id`),
  );
  const ids = rows.map((r) => Number(r.id));
  await createFallbacks(db, ids, p.rule);
  return ids;
}

/** Closes a channel to claims until `until` (a provider's Retry-After or quota reset). */
export async function pauseChannel(db: Queryable, channel: string, until: Date, reason: string): Promise<void> {
  await db.execute(sql`
    insert into channel_pauses (channel, paused_until, reason) values (${channel}, ${until.toISOString()}, ${reason})
    on conflict (channel) do update set paused_until = greatest(channel_pauses.paused_until, excluded.paused_until),
      reason = excluded.reason, updated_at = now()`);
}

/** Until when each channel is closed to claims (only channels paused now or before are listed). */
export async function channelPausedUntil(db: Queryable): Promise<Map<string, Date>> {
  const rows = rowsOf<{ channel: string; paused_until: string | Date }>(
    await db.execute(sql`select channel, paused_until from channel_pauses`),
  );
  return new Map(rows.map((r) => [r.channel, new Date(r.paused_until)]));
}
