// What operators watch (issue 5, "Health and metrics" and "The console"): queues, live pushes,
// stalls, provider failure rates, throughput. Every query here runs on each /metrics scrape or
// console page, so each is cheap by construction: it reads a partial index (pending, sending,
// held), a small table (pushes, channel_pauses), or a bounded slice of the newest rows found
// backwards through a primary key. None counts the whole outbox.
import { getTableName, sql } from 'drizzle-orm';
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { type Channel, CHANNELS } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { decodeRows, orNull, toDate, toNumber, toOneOf, toText } from '../rows';
import { bare, qualified } from '../sql-names';
import { channelPauses, contacts, deliveries, deliveryAttempts, policies, pushes, sandboxMessages } from '../schema';
import { bigintArray } from '../sql-arrays';
import { ERASED } from './erasure-queries';

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const d = deliveries;

/** A channel and a status with how many deliveries are in it. */
const toChannelCount = (r: Record<string, unknown>) => ({
  channel: toOneOf(CHANNELS, r.channel),
  status: toText(r.status),
  n: toNumber(r.n),
});

export interface QueueDepth {
  channel: Channel;
  /** Every pending delivery, including those waiting for a later time (retry, quiet hours, pause). */
  pending: number;
  /** Pending and due now. */
  ready: number;
  /** When the longest-waiting due delivery became due; null when none is due. */
  oldestReadyAt: Date | null;
}

/** Pending work per channel, from the partial pending index. */
export async function queueDepths(db: Queryable, now: Date): Promise<QueueDepth[]> {
  return decodeRows(
    await db.execute(sql`
      select ${d.channel}, count(*)::int as pending,
        count(*) filter (where ${d.nextAttemptAt} <= ${ts(now)})::int as ready,
        min(${d.nextAttemptAt}) filter (where ${d.nextAttemptAt} <= ${ts(now)}) as oldest_ready_at
      from ${d} where ${d.status} = 'pending'
      group by ${d.channel}`),
    (r): QueueDepth => ({
      channel: toOneOf(CHANNELS, r.channel),
      pending: toNumber(r.pending),
      ready: toNumber(r.ready),
      oldestReadyAt: orNull(toDate, r.oldest_ready_at),
    }),
  );
}

/**
 * Exact counts of the states work sits in (pending, sending, held), one statement per state so
 * each reads its own partial index. The terminal states are counted by recentDeliveryCounts.
 */
export async function activeDeliveryCounts(db: Queryable): Promise<{ channel: Channel; status: string; n: number }[]> {
  return decodeRows(
    await db.execute(sql`
      select ${d.channel}, 'pending' as status, count(*)::int as n from ${d} where ${d.status} = 'pending' group by ${d.channel}
      union all
      select ${d.channel}, 'sending', count(*)::int from ${d} where ${d.status} = 'sending' group by ${d.channel}
      union all
      select ${d.channel}, 'held', count(*)::int from ${d} where ${d.status} = 'held' group by ${d.channel}`),
    toChannelCount,
  );
}

/** Every status among the newest `window` deliveries (a backwards walk of the primary key, then a group by). */
export async function recentDeliveryCounts(db: Queryable, window: number): Promise<{ channel: Channel; status: string; n: number }[]> {
  const newest = alias(deliveries, 'newest');
  return decodeRows(
    await db.execute(sql`
      select ${newest.channel}, ${newest.status}, count(*)::int as n
      from (select ${d.channel}, ${d.status} from ${d} order by ${d.id} desc limit ${window}) newest
      group by ${newest.channel}, ${newest.status}`),
    toChannelCount,
  );
}

/** The planner's row estimate for the outbox (pg_class.reltuples): free, and as fresh as the last analyze. */
export async function estimatedDeliveryRows(db: Queryable): Promise<number> {
  const [n = 0] = decodeRows(
    await db.execute(sql`select reltuples as n from pg_class where oid = ${getTableName(deliveries)}::regclass`),
    (r) => toNumber(r.n),
  );
  // -1 until the table is first analyzed.
  return Math.max(0, Math.round(n));
}

export interface LivePush {
  pushId: number;
  policyId: number;
  version: number;
  title: string;
  status: string;
  matched: number;
  pending: number;
  sending: number;
  startAt: Date;
  updatedAt: Date;
}

/**
 * Pushes still at work: fanning out (or due to start), or with deliveries pending or sending.
 * Pending and sending are read from their partial indexes; pushes is one row per policy version.
 */
export async function livePushes(db: Queryable, now: Date, limit: number): Promise<LivePush[]> {
  const p = alias(pushes, 'p');
  const pol = alias(policies, 'pol');
  // The counts by state and the waiting ones by version, rows keyed by a delivery's policy version:
  // the aliases name those columns through the schema.
  const byState = alias(deliveries, 'by_state');
  const w = alias(deliveries, 'w');
  return decodeRows(
    await db.execute(sql`
      with waiting as (
        select ${byState.policyId}, ${byState.policyVersion}, sum(pending)::int as pending, sum(sending)::int as sending
        from (
          select ${d.policyId}, ${d.policyVersion}, count(*) as pending, 0 as sending from ${d}
          where ${d.status} = 'pending' and ${d.kind} = 'policy' group by 1, 2
          union all
          select ${d.policyId}, ${d.policyVersion}, 0, count(*) from ${d}
          where ${d.status} = 'sending' and ${d.kind} = 'policy' group by 1, 2
        ) by_state group by 1, 2
      )
      select ${p.id}, ${p.policyId}, ${p.policyVersion}, ${pol.title}, ${p.status}, ${p.matched}, ${p.startAt}, ${p.updatedAt},
        coalesce(w.pending, 0) as pending, coalesce(w.sending, 0) as sending
      from ${pushes} ${p}
      join ${policies} ${pol} on ${pol.id} = ${p.policyId}
      left join waiting w on ${w.policyId} = ${p.policyId} and ${w.policyVersion} = ${p.policyVersion}
      where (${p.status} <> 'fanned_out' and ${p.startAt} <= ${ts(now)}) or ${w.policyId} is not null
      order by ${p.id} desc
      limit ${limit}`),
    (r): LivePush => ({
      pushId: toNumber(r.id),
      policyId: toNumber(r.policy_id),
      version: toNumber(r.policy_version),
      title: toText(r.title),
      status: toText(r.status),
      matched: toNumber(r.matched),
      pending: toNumber(r.pending),
      sending: toNumber(r.sending),
      startAt: toDate(r.start_at),
      updatedAt: toDate(r.updated_at),
    }),
  );
}

const STALL_STAGES = ['fan-out', 'sending'] as const;

export interface StalledPush {
  pushId: number;
  policyId: number;
  version: number;
  title: string;
  /** 'fan-out': the push has not fanned out further; 'sending': due deliveries are not being sent. */
  stage: (typeof STALL_STAGES)[number];
  /** Deliveries due since before the cutoff and not moved (0 for a stalled fan-out). */
  waiting: number;
  /** Since when: the oldest waiting delivery was due, or the fan-out was last touched. */
  since: Date;
}

/**
 * Pushes with work waiting and no progress for `minutes` before `now` (an injected clock):
 * - fan-out: started (or due to start) and its row untouched since the cutoff;
 * - sending: deliveries due since before the cutoff (pending, or sending on a lease that ran
 *   out), while no delivery of that policy version changed state since the cutoff.
 * Work deliberately deferred to a later time (quiet hours, a retry, a paused channel's next
 * attempt time) is not due, so it is not a stall. The due work is found through the partial
 * pending and sending indexes; the "no progress" check runs only for those pushes, through the
 * (policy_id, policy_version, …) unique index, and stops at the first recent row.
 */
export async function findStalledPushes(db: Queryable, p: { now: Date; minutes: number }): Promise<StalledPush[]> {
  const cutoff = new Date(p.now.getTime() - p.minutes * 60_000);
  const push = alias(pushes, 'p');
  const pol = alias(policies, 'pol');
  const x = alias(deliveries, 'x');
  // The due work and its sum by push, rows keyed by a delivery's policy version: the aliases name
  // those columns through the schema.
  const due = alias(deliveries, 'due');
  const byPush = alias(deliveries, 'by_push');
  return decodeRows(
    await db.execute(sql`
      with due as (
        select ${d.policyId}, ${d.policyVersion}, count(*) as waiting, min(${d.nextAttemptAt}) as since from ${d}
        where ${d.status} = 'pending' and ${d.nextAttemptAt} <= ${ts(cutoff)} and ${d.policyId} is not null group by 1, 2
        union all
        select ${d.policyId}, ${d.policyVersion}, count(*), min(${d.lockedUntil}) from ${d}
        where ${d.status} = 'sending' and ${d.lockedUntil} <= ${ts(cutoff)} and ${d.policyId} is not null group by 1, 2
      ), due_by_push as (
        select ${due.policyId}, ${due.policyVersion}, sum(waiting)::int as waiting, min(since) as since from due group by 1, 2
      )
      select ${push.id}, ${push.policyId}, ${push.policyVersion}, ${pol.title}, 'sending' as stage, by_push.waiting, by_push.since
      from due_by_push by_push
      join ${pushes} ${push} on ${push.policyId} = ${byPush.policyId} and ${push.policyVersion} = ${byPush.policyVersion}
      join ${policies} ${pol} on ${pol.id} = ${push.policyId}
      where not exists (
        select 1 from ${deliveries} ${x}
        where ${x.policyId} = ${push.policyId} and ${x.policyVersion} = ${push.policyVersion} and ${x.updatedAt} > ${ts(cutoff)})
      union all
      select ${push.id}, ${push.policyId}, ${push.policyVersion}, ${pol.title}, 'fan-out', 0, greatest(${push.startAt}, ${push.updatedAt})
      from ${pushes} ${push} join ${policies} ${pol} on ${pol.id} = ${push.policyId}
      where ${push.status} in ('scheduled', 'fanning_out') and ${push.startAt} <= ${ts(cutoff)} and ${push.updatedAt} <= ${ts(cutoff)}
        and ${pol.status} in ('scheduled', 'published')
      order by 1`),
    (r): StalledPush => ({
      pushId: toNumber(r.id),
      policyId: toNumber(r.policy_id),
      version: toNumber(r.policy_version),
      title: toText(r.title),
      stage: toOneOf(STALL_STAGES, r.stage),
      waiting: toNumber(r.waiting),
      since: toDate(r.since),
    }),
  );
}

export interface ProviderFailureRate {
  channel: Channel;
  /** Sends looked at: the channel's last `window` provider calls, among the newest `scan` attempts. */
  sends: number;
  /** Of those, the ones the provider did not accept (retryable or permanent). */
  failures: number;
  rate: number;
  /** Failures by provider error code. */
  codes: Record<string, number>;
  lastAt: Date | null;
}

/**
 * Each channel's failure rate over its last `window` provider calls, from delivery_attempts (so
 * every dispatcher replica's sends count, not just this process's). Bounded: only the newest
 * `scan` attempts are read, backwards through the primary key.
 */
export async function providerFailureRates(db: Queryable, p: { window: number; scan: number }): Promise<ProviderFailureRate[]> {
  const da = deliveryAttempts;
  const a = alias(deliveryAttempts, 'a');
  // The ranked attempts and the last sends: rows of attempts with their delivery's channel.
  const ranked = (column: AnyPgColumn) => qualified('ranked', column);
  const sent = (column: AnyPgColumn) => qualified('last_sends', column);
  const rows = decodeRows(
    await db.execute(sql`
      with last_sends as (
        select ${ranked(d.channel)}, ${ranked(da.outcome)}, ${ranked(da.providerCode)}, ${ranked(da.createdAt)} from (
          select ${d.channel}, ${a.outcome}, ${a.providerCode}, ${a.createdAt},
            row_number() over (partition by ${d.channel} order by ${a.id} desc) as n
          from (select ${da.id}, ${da.deliveryId}, ${da.outcome}, ${da.providerCode}, ${da.createdAt} from ${da}
            order by ${da.id} desc limit ${p.scan}) ${a}
          join ${d} on ${d.id} = ${a.deliveryId}
        ) ranked where n <= ${p.window}
      )
      select ${sent(d.channel)}, null as code, count(*)::int as sends,
        count(*) filter (where ${sent(da.outcome)} <> 'accepted')::int as failures, max(${sent(da.createdAt)}) as last_at
      from last_sends group by ${sent(d.channel)}
      union all
      select ${sent(d.channel)}, coalesce(${sent(da.providerCode)}, 'unknown'), 0, count(*)::int, null
      from last_sends where ${sent(da.outcome)} <> 'accepted' group by ${sent(d.channel)}, coalesce(${sent(da.providerCode)}, 'unknown')`),
    (r) => ({
      channel: toOneOf(CHANNELS, r.channel),
      // null on a channel's totals row, a provider error code on its failures by code
      code: orNull(toText, r.code),
      sends: toNumber(r.sends),
      failures: toNumber(r.failures),
      lastAt: orNull(toDate, r.last_at),
    }),
  );
  const byChannel = new Map<Channel, ProviderFailureRate>();
  for (const r of rows) {
    if (r.code !== null) continue;
    const { channel, sends, failures, lastAt } = r;
    byChannel.set(channel, { channel, sends, failures, rate: sends ? failures / sends : 0, codes: {}, lastAt });
  }
  for (const r of rows) {
    const entry = r.code === null ? undefined : byChannel.get(r.channel);
    if (entry) entry.codes[r.code!] = r.failures;
  }
  return [...byChannel.values()];
}

/**
 * Deliveries sent per minute and channel over the hour before `now`, by sent_at. sent_at has no
 * index, so only the newest `bound` deliveries are read (backwards through the primary key): a
 * delivery created before them but sent within the hour is missed, which the page says.
 */
export async function sentPerMinute(
  db: Queryable,
  p: { now: Date; bound: number },
): Promise<{ minute: Date; channel: Channel; n: number }[]> {
  const from = new Date(p.now.getTime() - 3_600_000);
  const newest = alias(deliveries, 'newest');
  return decodeRows(
    await db.execute(sql`
      select date_trunc('minute', ${newest.sentAt}) as minute, ${newest.channel}, count(*)::int as n
      from (select ${d.sentAt}, ${d.channel} from ${d} order by ${d.id} desc limit ${p.bound}) newest
      where ${newest.sentAt} > ${ts(from)} and ${newest.sentAt} <= ${ts(p.now)}
      group by 1, 2 order by 1`),
    (r) => ({ minute: toDate(r.minute), channel: toOneOf(CHANNELS, r.channel), n: toNumber(r.n) }),
  );
}

export interface ChannelPauseRow {
  channel: string;
  pausedUntil: Date;
  reason: string;
  updatedAt: Date;
}

export async function listChannelPauses(db: Queryable): Promise<ChannelPauseRow[]> {
  const cp = channelPauses;
  return decodeRows(
    await db.execute(sql`select ${cp.channel}, ${cp.pausedUntil}, ${cp.reason}, ${cp.updatedAt} from ${cp} order by ${cp.channel}`),
    (r): ChannelPauseRow => ({
      channel: toText(r.channel),
      pausedUntil: toDate(r.paused_until),
      reason: toText(r.reason),
      updatedAt: toDate(r.updated_at),
    }),
  );
}

export interface SandboxMessageRow {
  id: number;
  deliveryId: number;
  channel: string;
  recipient: string;
  content: unknown;
  outcome: string;
  createdAt: Date;
}

/** What the sandbox adapters would have sent, newest first. */
export async function listSandboxMessages(
  db: Queryable,
  p: { limit: number; before?: number; channel?: string; deliveryId?: number },
): Promise<SandboxMessageRow[]> {
  const s = sandboxMessages;
  return decodeRows(
    await db.execute(sql`
      select ${s.id}, ${s.deliveryId}, ${s.channel}, ${s.recipient}, ${s.content}, ${s.outcome}, ${s.createdAt} from ${s}
      where true
        ${p.before ? sql`and ${s.id} < ${p.before}` : sql``}
        ${p.channel ? sql`and ${s.channel} = ${p.channel}` : sql``}
        ${p.deliveryId ? sql`and ${s.deliveryId} = ${p.deliveryId}` : sql``}
      order by ${s.id} desc limit ${p.limit + 1}`),
    (r): SandboxMessageRow => ({
      id: toNumber(r.id),
      deliveryId: toNumber(r.delivery_id),
      channel: toText(r.channel),
      recipient: toText(r.recipient),
      content: typeof r.content === 'string' ? JSON.parse(r.content) : r.content,
      outcome: toText(r.outcome),
      createdAt: toDate(r.created_at),
    }),
  );
}

/**
 * Sandbox records wait in the recorder's buffer for a moment after their send, so the contact may
 * have been erased meanwhile: once written, records of erased contacts are blanked as the erasure
 * would have (erasure-queries.ts).
 */
export async function blankErasedSandboxMessages(db: Queryable, deliveryIds: number[]): Promise<void> {
  const s = sandboxMessages;
  const c = contacts;
  await db.execute(sql`
    update ${s} set ${bare(s.recipient)} = ${ERASED}, ${bare(s.content)} = '{"erased": true}'::jsonb
    from ${d} join ${c} on ${c.id} = ${d.contactId}
    where ${s.deliveryId} = any(${bigintArray(deliveryIds)}) and ${d.id} = ${s.deliveryId} and ${c.erasedAt} is not null`);
}
