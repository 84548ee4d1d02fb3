// The outbox, in one place: claim, ack, sweep, receipts (ARCHITECTURE.md "Delivery states").
// A claim is one statement (FOR UPDATE SKIP LOCKED, urgent first) that commits at once and sets a
// lease; no transaction is held across a provider call. Acks and attempts go in batches. A
// terminal state never moves back: every update below names the states it may leave.
import { type Channel, CHANNELS, type ReachabilityRule } from '@policy-push/core';
import { sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Queryable } from '../create-db';
import { FAILED_STATUSES, inStatuses, TERMINAL_STATUSES } from '../delivery-statuses';
import { decodeRows, orNull, toBoolean, toDate, toNumber, toOneOf, toText, toTextArray } from '../rows';
import { bare } from '../sql-names';
import {
  channelPauses,
  contacts,
  deliveries,
  deliveryAttempts,
  deliveryEvents,
  departments,
  policies,
  policyVersions,
  reachEnterprises,
} from '../schema';
import { claimAddresses, claimKind } from './address-claims-queries';
import { bigintArray, booleanArray, intArray, textArray } from '../sql-arrays';
import { type DigestItem, loadDigestItems, toWechatTemplate, type WechatTemplate } from './digest-queries';
import { reachableSql } from './reachable-sql';
import { reminderOpenedSql } from './reminder-queries';

/** The deployment's default (REQUIRE_CONFIRMED_EMAIL off), for callers that are given no rule. */
const CONFIRMATION_NOT_REQUIRED: ReachabilityRule = { requireConfirmedEmail: false };

// deliveries.channel and deliveries.kind: the values a claimed delivery may carry.
const DELIVERY_KINDS = ['policy', 'update', 'revocation', 'digest', 'confirmation', 'reminder'] as const;

export interface ClaimedDelivery {
  id: number;
  policyId: number | null;
  policyVersion: number | null;
  contactId: number;
  channel: Channel;
  kind: (typeof DELIVERY_KINDS)[number];
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
  const channels = p.channels ?? CHANNELS;
  if (!channels.length) return [];
  // The pending index is walked in its own order and the walk stops at the batch: whatever the
  // statistics say. They are the outbox as last analysed, and a queue's backlog is never what it
  // was then: believing a few rows pending, the planner took every pending row by bitmap and
  // sorted them all for each batch of 200 (a city-wide push: 96,546 index entries and 17,048 rows
  // sorted per claim, 14 ms each). Bitmap scans and sorts are off for this transaction only; a
  // plan left with no other way costs 10^10, which would switch JIT on (~130 ms of compiling per
  // claim), so JIT is off too.
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`select set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true), set_config('jit', 'off', true)`,
    );
    return claimBatch(tx, p.limit, p.leaseSeconds, channels);
  });
}

async function claimBatch(db: Queryable, limit: number, leaseSeconds: number, channels: readonly string[]): Promise<ClaimedDelivery[]> {
  const d = deliveries;
  const cp = channelPauses;
  // One walk of the pending index (channel, priority, next_attempt_at) per channel that may send,
  // each stopping at the batch; the earliest of them, urgent first, are claimed. A channel that
  // cannot send is never walked: with the channel out of the index's key, every claim read past
  // its backlog (a city's WeChat deliveries once the day's quota was spent: 157,512 rows, 183 ms
  // per claim). Rows locked by a walk but not claimed are free again when the claim commits.
  // (A locking clause may not stand in a UNION's own branches, only in a subquery of one.)
  const walks = channels.map(
    (channel) => sql`select * from (
        select ${d.id}, ${d.priority}, ${d.nextAttemptAt} from ${d}
        where ${d.status} = 'pending' and ${d.channel} = ${channel} and ${d.nextAttemptAt} <= now()
          -- a channel its provider closed for a while (429, quota) is left alone until it reopens
          and ${channel} <> all(array(select ${cp.channel} from ${cp} where ${cp.pausedUntil} > now()))
        order by ${d.priority}, ${d.nextAttemptAt}
        limit ${limit}
        for update skip locked) walk`,
  );
  return decodeRows(
    await db.execute(sql`
      with claimable as (${sql.join(walks, sql` union all `)})
      -- By key: a join here could be planned as a scan of the outbox on a connection opened while it was empty.
      update ${d}
      set ${bare(d.status)} = 'sending', ${bare(d.attempts)} = ${d.attempts} + 1,
          ${bare(d.lockedUntil)} = now() + ${leaseSeconds} * interval '1 second', ${bare(d.updatedAt)} = now()
      where ${d.id} = any(array(select id from claimable order by priority, next_attempt_at limit ${limit}))
      returning ${d.id}, ${d.policyId}, ${d.policyVersion}, ${d.contactId}, ${d.channel}, ${d.kind}, ${d.attempts}, ${d.priority}`),
    (r): ClaimedDelivery => ({
      id: toNumber(r.id),
      policyId: orNull(toNumber, r.policy_id),
      policyVersion: orNull(toNumber, r.policy_version),
      contactId: toNumber(r.contact_id),
      channel: toOneOf(CHANNELS, r.channel),
      kind: toOneOf(DELIVERY_KINDS, r.kind),
      attempts: toNumber(r.attempts),
      priority: toNumber(r.priority),
    }),
  );
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
  const a = deliveryAttempts;
  const d = deliveries;
  const acked = await db.transaction(async (tx) => {
    if (attempts.length) {
      await tx.execute(sql`
      insert into ${a} (${bare(a.deliveryId)}, ${bare(a.attempt)}, ${bare(a.outcome)}, ${bare(a.provider)}, ${bare(a.providerCode)},
        ${bare(a.providerMessageId)}, ${bare(a.error)}, ${bare(a.latencyMs)}, ${bare(a.worker)}, ${bare(a.response)}, ${bare(a.createdAt)})
      select v.id, v.attempt, v.outcome, v.provider, v.code, v.pmid, v.error, v.latency, ${worker}, v.response::jsonb,
        now() - v.ago_ms * interval '1 millisecond'
      from unnest(${bigintArray(attempts.map((o) => o.id))}, ${intArray(attempts.map((o) => o.attempt))},
        ${textArray(attempts.map((o) => o.attemptRecord!.outcome))}, ${textArray(attempts.map((o) => o.attemptRecord!.provider ?? null))},
        ${textArray(attempts.map((o) => o.attemptRecord!.providerCode))},
        ${textArray(attempts.map((o) => o.providerMessageId))}, ${textArray(attempts.map((o) => o.attemptRecord!.error))},
        ${intArray(attempts.map((o) => o.attemptRecord!.latencyMs))},
        ${textArray(attempts.map((o) => (o.attemptRecord!.response === undefined ? null : JSON.stringify(o.attemptRecord!.response))))},
        ${intArray(attempts.map(msAgo))})
        as v(id, attempt, outcome, provider, code, pmid, error, latency, response, ago_ms)`);
    }
    const ids = decodeRows(
      await tx.execute(sql`
      update ${d}
      set ${bare(d.status)} = v.status,
          ${bare(d.providerMessageId)} = coalesce(v.pmid, ${d.providerMessageId}),
          ${bare(d.attempts)} = ${d.attempts} - case when v.uncounted then 1 else 0 end,
          ${bare(d.digestPeriod)} = coalesce(v.hold_for, ${d.digestPeriod}),
          ${bare(d.errorCode)} = v.code,
          ${bare(d.lockedUntil)} = null,
          ${bare(d.nextAttemptAt)} = case when v.status = 'pending' then now() + v.retry_ms * interval '1 millisecond' else ${d.nextAttemptAt} end,
          ${bare(d.sentAt)} = case when v.status = 'sent' then now() - v.ago_ms * interval '1 millisecond' else ${d.sentAt} end,
          ${bare(d.finishedAt)} = case when v.status ${inStatuses(TERMINAL_STATUSES)} then now() else ${d.finishedAt} end,
          ${bare(d.updatedAt)} = now()
      from unnest(${bigintArray(outcomes.map((o) => o.id))}, ${textArray(outcomes.map((o) => o.status))},
        ${textArray(outcomes.map((o) => o.providerMessageId))}, ${textArray(outcomes.map((o) => o.errorCode))},
        ${intArray(outcomes.map((o) => o.retryInMs))}, ${booleanArray(outcomes.map((o) => o.uncounted ?? false))},
        ${textArray(outcomes.map((o) => o.holdFor ?? null))}, ${intArray(outcomes.map(msAgo))})
        as v(id, status, pmid, code, retry_ms, uncounted, hold_for, ago_ms)
      -- id = any(…) as well: the rows are found by key whatever the join with v is planned as.
      where ${d.id} = any(${bigintArray(outcomes.map((o) => o.id))}) and ${d.id} = v.id and ${d.status} = 'sending'
      returning ${d.id}`),
      (r) => toNumber(r.id),
    );
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
  const d = deliveries;
  await db.execute(sql`
    update ${d} set ${bare(d.lockedUntil)} = now() + ${leaseSeconds} * interval '1 second'
    where ${d.id} = any(${bigintArray(ids)}) and ${d.status} = 'sending'`);
}

/** Returns deliveries whose lease expired (their dispatcher died) to pending. */
export async function sweepExpiredLeases(db: Queryable): Promise<number> {
  const d = deliveries;
  const [swept] = decodeRows(
    await db.execute(sql`
      with swept as (
        update ${d}
        set ${bare(d.status)} = 'pending', ${bare(d.lockedUntil)} = null, ${bare(d.nextAttemptAt)} = now(), ${bare(d.updatedAt)} = now()
        where ${d.status} = 'sending' and ${d.lockedUntil} < now()
        returning 1
      )
      select count(*)::int as n from swept`),
    (r) => toNumber(r.n),
  );
  return swept;
}

/** Gives back deliveries claimed but not sent (graceful shutdown): no attempt is counted. */
export async function releaseDeliveries(db: Queryable, ids: number[]): Promise<void> {
  if (!ids.length) return;
  const d = deliveries;
  await db.execute(sql`
    update ${d}
    set ${bare(d.status)} = 'pending', ${bare(d.attempts)} = greatest(${d.attempts} - 1, 0), ${bare(d.lockedUntil)} = null,
      ${bare(d.updatedAt)} = now()
    where ${d.id} = any(${bigintArray(ids)}) and ${d.status} = 'sending'`);
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
  const d = deliveries;
  const e = deliveryEvents;
  const stored = decodeRows(
    await db.execute(sql`
      insert into ${e} (${bare(e.deliveryId)}, ${bare(e.channel)}, ${bare(e.providerMessageId)}, ${bare(e.type)}, ${bare(e.errorCode)},
        ${bare(e.payload)}, ${bare(e.occurredAt)})
      values ((select ${d.id} from ${d} where ${d.providerMessageId} = ${r.providerMessageId} and ${d.channel} = ${r.channel} limit 1),
        ${r.channel}, ${r.providerMessageId}, ${r.status}, ${r.errorCode ?? null}, ${JSON.stringify(r.payload ?? null)}::jsonb, ${r.occurredAt.toISOString()})
      on conflict do nothing
      returning ${e.id}`),
    (row) => toNumber(row.id),
  );
  // The event is stored (and committed) first, the update comes second, so a receipt racing the
  // ack is never lost. The update, the event's link and the fallback commit together: a delivery
  // never ends failed without the fallback it hands over to.
  const deliveryId = await db.transaction(async (tx) => {
    const [id = null] = decodeRows(
      await tx.execute(sql`
      update ${d}
      set ${bare(d.status)} = ${r.status}, ${bare(d.errorCode)} = coalesce(${r.errorCode ?? null}, ${d.errorCode}),
          ${bare(d.finishedAt)} = case when ${r.status} = 'sent' then ${d.finishedAt} else now() end, ${bare(d.updatedAt)} = now()
      where ${d.providerMessageId} = ${r.providerMessageId} and ${d.channel} = ${r.channel}
        and ${d.status} = any(${textArray(RECEIPT_FROM[r.status])})
      returning ${d.id}`),
      (row) => toNumber(row.id),
    );
    // Link the event to its delivery once the delivery is known by this provider id.
    await tx.execute(sql`
    update ${e} set ${bare(e.deliveryId)} = ${d.id}
    from ${d}
    where ${e.deliveryId} is null and ${e.channel} = ${r.channel} and ${e.providerMessageId} = ${r.providerMessageId}
      and ${d.channel} = ${r.channel} and ${d.providerMessageId} = ${r.providerMessageId}`);
    if (id !== null && (r.status === 'failed' || r.status === 'undelivered')) await createFallbacks(tx, [id], rule);
    return id;
  });
  return { stored: stored.length > 0, deliveryId };
}

/** Applies receipts that were stored before their send was acked (the furthest one wins); returns the ids moved. */
async function applyStoredReceipts(db: Queryable, ids: number[]): Promise<number[]> {
  if (!ids.length) return [];
  const d = deliveries;
  const e = deliveryEvents;
  return decodeRows(
    await db.execute(sql`
    with early as (
      select distinct on (${d.id}) ${d.id}, ${e.type}, ${e.errorCode}
      from ${d}
      join ${e} on ${e.channel} = ${d.channel} and ${e.providerMessageId} = ${d.providerMessageId}
      where ${d.id} = any(${bigintArray(ids)}) and ${d.status} = 'sent' and ${e.type} in ('delivered', 'undelivered', 'failed')
      order by ${d.id}, ${e.occurredAt} desc
    ), linked as (
      update ${e} set ${bare(e.deliveryId)} = early.id from early
      where ${e.deliveryId} is null and ${e.providerMessageId} = (select ${d.providerMessageId} from ${d} where ${d.id} = early.id)
    )
    update ${d}
    set ${bare(d.status)} = early.type, ${bare(d.errorCode)} = coalesce(early.error_code, ${d.errorCode}), ${bare(d.finishedAt)} = now(),
      ${bare(d.updatedAt)} = now()
    -- id = any(array(…early)) as well: by key whatever the join with early is planned as. The
    -- ids of early, not the batch's: given the batch's 200 ids, a plan made on an outbox of ~10,000
    -- rows scanned it instead (P12), to update what is almost always nothing.
    from early where ${d.id} = any(array(select id from early)) and ${d.id} = early.id and ${d.status} = 'sent'
    returning ${d.id}`),
    (r) => toNumber(r.id),
  );
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
    const d = deliveries;
    // The failed deliveries, a CTE of deliveries rows: the alias names its columns through the schema.
    const failed = alias(deliveries, 'failed');
    const c = alias(contacts, 'c');
    const p = policies;
    const rows = decodeRows(
      await tx.execute(sql`
        -- The failed ones first, one primary-key look-up per id (limit 1 keeps each a look-up): joined
        -- to policies, the planner may walk every published policy's whole range of the unique key
        -- instead, and with "id = any(…)" a table of some thousands of rows is scanned (every ack).
        with failed as materialized (
          select one.* from unnest(${bigintArray(ids)}) as k(id)
          cross join lateral (
            select ${d.id}, ${d.policyId}, ${d.policyVersion}, ${d.enterpriseId}, ${d.contactId}, ${d.kind}, ${d.priority},
              ${d.matchedCategoryIds}, ${d.matchedGroupIds}, ${d.fallbackChannels}
            from ${d} where ${d.id} = k.id and ${d.status} ${inStatuses(FAILED_STATUSES)}
            limit 1
          ) one
        )
        insert into ${d} (${bare(d.policyId)}, ${bare(d.policyVersion)}, ${bare(d.enterpriseId)}, ${bare(d.contactId)}, ${bare(d.channel)},
          ${bare(d.kind)}, ${bare(d.status)}, ${bare(d.priority)}, ${bare(d.matchedCategoryIds)}, ${bare(d.matchedGroupIds)},
          ${bare(d.fallbackOf)}, ${bare(d.fallbackChannels)})
        select ${failed.policyId}, ${failed.policyVersion}, ${failed.enterpriseId}, ${failed.contactId}, next.channel, ${failed.kind},
          'pending', ${failed.priority}, ${failed.matchedCategoryIds}, ${failed.matchedGroupIds}, ${failed.id},
          ${failed.fallbackChannels}[next.position + 1:]
        from failed
        join ${contacts} ${c} on ${c.id} = ${failed.contactId}
        join ${p} on ${p.id} = ${failed.policyId} and ${p.version} = ${failed.policyVersion} and ${p.status} = 'published'
        cross join lateral (
          select f.channel, f.position::int as position
          from unnest(${failed.fallbackChannels}) with ordinality as f(channel, position)
          where ${reachableSql('c', sql`f.channel`, rule)}
          order by f.position
          limit 1
        ) next
        on conflict do nothing
        returning ${d.id}, ${d.policyId}, ${d.policyVersion}, ${d.kind}, ${d.contactId}, ${d.channel}`),
      (r) => ({
        id: toNumber(r.id),
        policyId: toNumber(r.policy_id),
        policyVersion: toNumber(r.policy_version),
        kind: toText(r.kind),
        contactId: toNumber(r.contact_id),
        channel: toText(r.channel),
      }),
    );
    const byClaim = new Map<string, typeof rows>();
    for (const r of rows) {
      const key = `${r.policyId}:${r.policyVersion}:${claimKind(r.kind)}`;
      byClaim.set(key, [...(byClaim.get(key) ?? []), r]);
    }
    for (const group of byClaim.values()) {
      const [first] = group;
      await claimAddresses(
        tx,
        { policyId: first.policyId, policyVersion: first.policyVersion, kind: claimKind(first.kind) },
        { ids: group.map((r) => r.id), contactIds: group.map((r) => r.contactId), channels: group.map((r) => r.channel) },
      );
    }
    return rows.map((r) => r.id);
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
  const d = deliveries;
  const pol = policies;
  const cp = channelPauses;
  const ids = decodeRows(
    await db.execute(sql`
      update ${d}
      set ${bare(d.status)} = 'failed', ${bare(d.errorCode)} = 'deliver_by_passed', ${bare(d.finishedAt)} = ${now}, ${bare(d.updatedAt)} = now()
      from ${pol}
      where ${d.status} = 'pending' and ${pol.id} = ${d.policyId}
        -- a reminder's deadline is its policy's actionBy, which the send checks
        and ${d.kind} <> 'reminder'
        and (${d.channel} = any(array(select ${cp.channel} from ${cp} where ${cp.pausedUntil} > ${now}))
          or (${d.errorCode} = 'circuit_open' and ${d.nextAttemptAt} > ${now})
          or ${d.channel} = any(${openCircuits}))
        -- still within the contact's quiet hours: the morning is the sensible hour, on any channel
        and not (${d.errorCode} = 'quiet_hours' and ${d.nextAttemptAt} > ${now})
        -- priority 0 is urgent (deliveries.priority)
        and ${pol.publishAt} + case when ${d.priority} = 0 then ${p.deliverByMinutes.urgent}::int else ${p.deliverByMinutes.normal}::int end
          * interval '1 minute' < ${now}
      returning ${d.id}`),
    (r) => toNumber(r.id),
  );
  await createFallbacks(db, ids, p.rule);
  return ids;
}

/** Closes a channel to claims until `until` (a provider's Retry-After or quota reset). */
export async function pauseChannel(db: Queryable, channel: string, until: Date, reason: string): Promise<void> {
  const cp = channelPauses;
  await db.execute(sql`
    insert into ${cp} (${bare(cp.channel)}, ${bare(cp.pausedUntil)}, ${bare(cp.reason)})
    values (${channel}, ${until.toISOString()}, ${reason})
    on conflict (${bare(cp.channel)}) do update
    set ${bare(cp.pausedUntil)} = greatest(${cp.pausedUntil}, excluded.${bare(cp.pausedUntil)}),
      ${bare(cp.reason)} = excluded.${bare(cp.reason)}, ${bare(cp.updatedAt)} = now()`);
}

/** Until when each channel is closed to claims (only channels paused now or before are listed). */
export async function channelPausedUntil(db: Queryable): Promise<Map<string, Date>> {
  const cp = channelPauses;
  const pauses = decodeRows(await db.execute(sql`select ${cp.channel}, ${cp.pausedUntil} from ${cp}`), (r): [string, Date] => [
    toText(r.channel),
    toDate(r.paused_until),
  ]);
  return new Map(pauses);
}
