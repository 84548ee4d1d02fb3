// What operators watch (issue 5, "Health and metrics" and "The console"): queues, live pushes,
// stalls, provider failure rates, throughput. Every query here runs on each /metrics scrape or
// console page, so each is cheap by construction: it reads a partial index (pending, sending,
// held), a small table (pushes, channel_pauses), or a bounded slice of the newest rows found
// backwards through a primary key. None counts the whole outbox.
import { sql } from 'drizzle-orm';
import type { Channel } from '@policy-push/core';
import type { Queryable } from '../create-db';
import { rowsOf } from '../rows';
import { bigintArray } from '../sql-arrays';
import { ERASED } from './erasure-queries';

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const num = (v: unknown) => Number(v ?? 0);
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select channel, count(*)::int as pending,
        count(*) filter (where next_attempt_at <= ${ts(now)})::int as ready,
        min(next_attempt_at) filter (where next_attempt_at <= ${ts(now)}) as oldest_ready_at
      from deliveries where status = 'pending'
      group by channel`),
  );
  return rows.map((r) => ({
    channel: r.channel as Channel,
    pending: num(r.pending),
    ready: num(r.ready),
    oldestReadyAt: date(r.oldest_ready_at),
  }));
}

/**
 * Exact counts of the states work sits in (pending, sending, held), one statement per state so
 * each reads its own partial index. The terminal states are counted by recentDeliveryCounts.
 */
export async function activeDeliveryCounts(db: Queryable): Promise<{ channel: Channel; status: string; n: number }[]> {
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select channel, 'pending' as status, count(*)::int as n from deliveries where status = 'pending' group by channel
      union all
      select channel, 'sending', count(*)::int from deliveries where status = 'sending' group by channel
      union all
      select channel, 'held', count(*)::int from deliveries where status = 'held' group by channel`),
  );
  return rows.map((r) => ({ channel: r.channel as Channel, status: r.status as string, n: num(r.n) }));
}

/** Every status among the newest `window` deliveries (a backwards walk of the primary key, then a group by). */
export async function recentDeliveryCounts(db: Queryable, window: number): Promise<{ channel: Channel; status: string; n: number }[]> {
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select channel, status, count(*)::int as n
      from (select channel, status from deliveries order by id desc limit ${window}) newest
      group by channel, status`),
  );
  return rows.map((r) => ({ channel: r.channel as Channel, status: r.status as string, n: num(r.n) }));
}

/** The planner's row estimate for the outbox (pg_class.reltuples): free, and as fresh as the last analyze. */
export async function estimatedDeliveryRows(db: Queryable): Promise<number> {
  const [row] = rowsOf<{ n: unknown }>(await db.execute(sql`select reltuples as n from pg_class where oid = 'deliveries'::regclass`));
  // -1 until the table is first analyzed.
  return Math.max(0, Math.round(num(row?.n)));
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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      with waiting as (
        select policy_id, policy_version, sum(pending)::int as pending, sum(sending)::int as sending
        from (
          select policy_id, policy_version, count(*) as pending, 0 as sending from deliveries
          where status = 'pending' and kind = 'policy' group by 1, 2
          union all
          select policy_id, policy_version, 0, count(*) from deliveries
          where status = 'sending' and kind = 'policy' group by 1, 2
        ) w group by 1, 2
      )
      select p.id, p.policy_id, p.policy_version, pol.title, p.status, p.matched, p.start_at, p.updated_at,
        coalesce(w.pending, 0) as pending, coalesce(w.sending, 0) as sending
      from pushes p
      join policies pol on pol.id = p.policy_id
      left join waiting w on w.policy_id = p.policy_id and w.policy_version = p.policy_version
      where (p.status <> 'fanned_out' and p.start_at <= ${ts(now)}) or w.policy_id is not null
      order by p.id desc
      limit ${limit}`),
  );
  return rows.map((r) => ({
    pushId: num(r.id),
    policyId: num(r.policy_id),
    version: num(r.policy_version),
    title: r.title as string,
    status: r.status as string,
    matched: num(r.matched),
    pending: num(r.pending),
    sending: num(r.sending),
    startAt: date(r.start_at)!,
    updatedAt: date(r.updated_at)!,
  }));
}

export interface StalledPush {
  pushId: number;
  policyId: number;
  version: number;
  title: string;
  /** 'fan-out': the push has not fanned out further; 'sending': due deliveries are not being sent. */
  stage: 'fan-out' | 'sending';
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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      with due as (
        select policy_id, policy_version, count(*) as waiting, min(next_attempt_at) as since from deliveries
        where status = 'pending' and next_attempt_at <= ${ts(cutoff)} and policy_id is not null group by 1, 2
        union all
        select policy_id, policy_version, count(*), min(locked_until) from deliveries
        where status = 'sending' and locked_until <= ${ts(cutoff)} and policy_id is not null group by 1, 2
      ), due_by_push as (
        select policy_id, policy_version, sum(waiting)::int as waiting, min(since) as since from due group by 1, 2
      )
      select p.id, p.policy_id, p.policy_version, pol.title, 'sending' as stage, d.waiting, d.since
      from due_by_push d
      join pushes p on p.policy_id = d.policy_id and p.policy_version = d.policy_version
      join policies pol on pol.id = p.policy_id
      where not exists (
        select 1 from deliveries x
        where x.policy_id = p.policy_id and x.policy_version = p.policy_version and x.updated_at > ${ts(cutoff)})
      union all
      select p.id, p.policy_id, p.policy_version, pol.title, 'fan-out', 0, greatest(p.start_at, p.updated_at)
      from pushes p join policies pol on pol.id = p.policy_id
      where p.status in ('scheduled', 'fanning_out') and p.start_at <= ${ts(cutoff)} and p.updated_at <= ${ts(cutoff)}
        and pol.status in ('scheduled', 'published')
      order by 1`),
  );
  return rows.map((r) => ({
    pushId: num(r.id),
    policyId: num(r.policy_id),
    version: num(r.policy_version),
    title: r.title as string,
    stage: r.stage as StalledPush['stage'],
    waiting: num(r.waiting),
    since: date(r.since)!,
  }));
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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      with last_sends as (
        select channel, outcome, provider_code, created_at from (
          select d.channel, a.outcome, a.provider_code, a.created_at,
            row_number() over (partition by d.channel order by a.id desc) as n
          from (select id, delivery_id, outcome, provider_code, created_at from delivery_attempts order by id desc limit ${p.scan}) a
          join deliveries d on d.id = a.delivery_id
        ) ranked where n <= ${p.window}
      )
      select channel, null as code, count(*)::int as sends, count(*) filter (where outcome <> 'accepted')::int as failures,
        max(created_at) as last_at
      from last_sends group by channel
      union all
      select channel, coalesce(provider_code, 'unknown'), 0, count(*)::int, null
      from last_sends where outcome <> 'accepted' group by channel, coalesce(provider_code, 'unknown')`),
  );
  const byChannel = new Map<Channel, ProviderFailureRate>();
  for (const r of rows.filter((r) => r.code === null)) {
    const sends = num(r.sends);
    const failures = num(r.failures);
    byChannel.set(r.channel as Channel, {
      channel: r.channel as Channel,
      sends,
      failures,
      rate: sends ? failures / sends : 0,
      codes: {},
      lastAt: date(r.last_at),
    });
  }
  for (const r of rows.filter((r) => r.code !== null)) {
    const entry = byChannel.get(r.channel as Channel);
    if (entry) entry.codes[r.code as string] = num(r.failures);
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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select date_trunc('minute', sent_at) as minute, channel, count(*)::int as n
      from (select sent_at, channel from deliveries order by id desc limit ${p.bound}) newest
      where sent_at > ${ts(from)} and sent_at <= ${ts(p.now)}
      group by 1, 2 order by 1`),
  );
  return rows.map((r) => ({ minute: date(r.minute)!, channel: r.channel as Channel, n: num(r.n) }));
}

export interface ChannelPauseRow {
  channel: string;
  pausedUntil: Date;
  reason: string;
  updatedAt: Date;
}

export async function listChannelPauses(db: Queryable): Promise<ChannelPauseRow[]> {
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`select channel, paused_until, reason, updated_at from channel_pauses order by channel`),
  );
  return rows.map((r) => ({
    channel: r.channel as string,
    pausedUntil: date(r.paused_until)!,
    reason: r.reason as string,
    updatedAt: date(r.updated_at)!,
  }));
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
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select id, delivery_id, channel, recipient, content, outcome, created_at from sandbox_messages
      where true
        ${p.before ? sql`and id < ${p.before}` : sql``}
        ${p.channel ? sql`and channel = ${p.channel}` : sql``}
        ${p.deliveryId ? sql`and delivery_id = ${p.deliveryId}` : sql``}
      order by id desc limit ${p.limit + 1}`),
  );
  return rows.map((r) => ({
    id: num(r.id),
    deliveryId: num(r.delivery_id),
    channel: r.channel as string,
    recipient: r.recipient as string,
    content: typeof r.content === 'string' ? JSON.parse(r.content) : r.content,
    outcome: r.outcome as string,
    createdAt: date(r.created_at)!,
  }));
}

/**
 * Sandbox records wait in the recorder's buffer for a moment after their send, so the contact may
 * have been erased meanwhile: once written, records of erased contacts are blanked as the erasure
 * would have (erasure-queries.ts).
 */
export async function blankErasedSandboxMessages(db: Queryable, deliveryIds: number[]): Promise<void> {
  await db.execute(sql`
    update sandbox_messages s set recipient = ${ERASED}, content = '{"erased": true}'::jsonb
    from deliveries d join contacts c on c.id = d.contact_id
    where s.delivery_id = any(${bigintArray(deliveryIds)}) and d.id = s.delivery_id and c.erased_at is not null`);
}
