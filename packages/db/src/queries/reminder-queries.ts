// Follow-up reminders (issue 15). A policy's plan is stored as steps (reminder_steps); when a step
// falls due, one dispatcher takes it (an UPDATE … WHERE status = 'planned' … RETURNING: a second
// dispatcher racing for it finds it done and takes nothing) and, in the same transaction, inserts
// one reminder delivery per contact of each targeted enterprise that has not engaged with the
// policy, in one statement. Each reminder claims its address for its step in policy_addresses
// (claim kind 'reminder:N', version 0: steps belong to the policy), so an address shared by
// several contacts gets one message per step.
//
// The channel: the one after the channel the contact was last tried on for this policy (its latest
// reminder, else its latest policy delivery), from that delivery's fallback channels — which are
// the contact's own usable channels in order — and last of all that same channel again, the first
// the contact can still be reached on (reachable-sql.ts). So a WeChat that went unread is followed
// by an SMS, and a contact with one usable channel is reminded on it.
//
// Consent: an active subscription of the enterprise, a reachable address (not unsubscribed), and
// reminders not turned off on the preferences page. Engagement is read from reach_enterprises
// (refreshed first by the job), so what counts as engaged is the reach funnel's rule.
import type { ReachabilityRule } from '@policy-push/core';
import { type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Queryable } from '../create-db';
import { decodeRows, orNull, toDate, toNumber, toOneOf, toText } from '../rows';
import { contacts, deliveries, deliveryOpens, policies, reachEnterprises, reminderSteps, subscriptions } from '../schema';
import { bigintArray, intArray, textArray } from '../sql-arrays';
import { bare } from '../sql-names';

// reminder_steps.anchor and .status: the values a step may carry.
const STEP_ANCHORS = ['publish', 'action_by'] as const;
const STEP_STATUSES = ['planned', 'done', 'cancelled'] as const;
const rs = reminderSteps;
import { claimAddresses } from './address-claims-queries';
import { REACH_REFRESH_LOCK } from './reach-queries';
import { reachableSql } from './reachable-sql';

/**
 * True when a contact of enterprise `enterprise` opened a reminder of policy `policy`. The reach
 * funnel counts opens of the policy's own deliveries; an open of a reminder is engagement too, and
 * stops the next step and the reminders still to be sent. Found through the enterprise's contacts
 * and the reminders' unique index (policy, contact, step).
 */
export const reminderOpenedSql = (policy: SQL, enterprise: SQL): SQL => {
  const rc = alias(contacts, 'rc');
  const rd = alias(deliveries, 'rd');
  const ro = alias(deliveryOpens, 'ro');
  return sql`exists (
  select 1 from ${contacts} ${rc}
  join ${deliveries} ${rd} on ${rd.policyId} = ${policy} and ${rd.contactId} = ${rc.id} and ${rd.kind} = 'reminder'
  join ${deliveryOpens} ${ro} on ${ro.deliveryId} = ${rd.id}
  where ${rc.enterpriseId} = ${enterprise})`;
};

/** The claim kind of reminder step `step` in policy_addresses. */
export const reminderClaimKind = (step: number): string => `reminder:${step}`;

export interface ReminderStepInput {
  anchor: (typeof STEP_ANCHORS)[number];
  offsetHours: number;
  dueAt: Date;
}

export interface ReminderStepRow {
  step: number;
  anchor: (typeof STEP_ANCHORS)[number];
  offsetHours: number;
  dueAt: Date;
  status: (typeof STEP_STATUSES)[number];
  doneAt: Date | null;
  reminders: number;
}

/** The policy's steps, in order. */
export async function listReminderSteps(db: Queryable, policyId: number): Promise<ReminderStepRow[]> {
  return decodeRows(
    await db.execute(sql`
      select ${rs.step}, ${rs.anchor}, ${rs.offsetHours}, ${rs.dueAt}, ${rs.status}, ${rs.doneAt}, ${rs.reminders} from ${rs}
      where ${rs.policyId} = ${policyId} order by ${rs.step}`),
    (r): ReminderStepRow => ({
      step: toNumber(r.step),
      anchor: toOneOf(STEP_ANCHORS, r.anchor),
      offsetHours: toNumber(r.offset_hours),
      dueAt: toDate(r.due_at),
      status: toOneOf(STEP_STATUSES, r.status),
      doneAt: orNull(toDate, r.done_at),
      reminders: toNumber(r.reminders),
    }),
  );
}

/** How many of the policy's steps were taken already (they count against REMINDER_MAX_STEPS). */
export async function doneReminderSteps(db: Queryable, policyId: number): Promise<number> {
  const [done] = decodeRows(
    await db.execute(sql`select count(*)::int as n from ${rs} where ${rs.policyId} = ${policyId} and ${rs.status} = 'done'`),
    (r) => toNumber(r.n),
  );
  return done;
}

/**
 * Replaces the policy's plan: the steps not yet taken are dropped and `steps` planned after the
 * ones taken (numbered on from the highest taken, so a taken step's number, and its address
 * claims, are never reused).
 */
export async function replaceReminderPlan(tx: Queryable, policyId: number, steps: ReminderStepInput[]): Promise<void> {
  await tx.execute(sql`delete from ${rs} where ${rs.policyId} = ${policyId} and ${rs.status} = 'planned'`);
  if (!steps.length) return;
  await tx.execute(sql`
    insert into ${rs} (${bare(rs.policyId)}, ${bare(rs.step)}, ${bare(rs.anchor)}, ${bare(rs.offsetHours)}, ${bare(rs.dueAt)})
    select ${policyId}, (select coalesce(max(${rs.step}), 0) from ${rs} where ${rs.policyId} = ${policyId}) + s.n, s.anchor,
      s.offset_hours, s.due_at
    from unnest(${textArray(steps.map((s) => s.anchor))}, ${intArray(steps.map((s) => s.offsetHours))},
      ${textArray(steps.map((s) => s.dueAt.toISOString()))}::timestamptz[]) with ordinality as s(anchor, offset_hours, due_at, n)`);
}

/**
 * Moves the steps not yet taken to the policy's dates: publish-anchored ones from `publishAt`,
 * actionBy-anchored ones from `actionBy`. Returns the steps anchored on an actionBy that is now
 * null (the caller refuses that).
 */
export async function replanReminderSteps(
  tx: Queryable,
  policyId: number,
  at: { publishAt: Date; actionBy: Date | null },
): Promise<number> {
  const actionBy = at.actionBy?.toISOString() ?? null;
  const [orphaned] = decodeRows(
    await tx.execute(sql`
      with moved as (
        update ${rs}
        set ${bare(rs.dueAt)} = case ${rs.anchor}
            when 'publish' then ${at.publishAt.toISOString()}::timestamptz + ${rs.offsetHours} * interval '1 hour'
            else ${actionBy}::timestamptz - ${rs.offsetHours} * interval '1 hour' end,
          ${bare(rs.updatedAt)} = now()
        where ${rs.policyId} = ${policyId} and ${rs.status} = 'planned'
          and (${rs.anchor} = 'publish' or ${actionBy}::timestamptz is not null)
        returning 1
      )
      select count(*)::int as orphaned from ${rs}
      where ${rs.policyId} = ${policyId} and ${rs.status} = 'planned' and ${rs.anchor} = 'action_by' and ${actionBy}::timestamptz is null`),
    (r) => toNumber(r.orphaned),
  );
  return orphaned;
}

/** Revoked or expired: the steps not yet taken will not be. */
export async function cancelReminderSteps(tx: Queryable, policyIds: number[]): Promise<void> {
  if (!policyIds.length) return;
  await tx.execute(sql`
    update ${rs} set ${bare(rs.status)} = 'cancelled', ${bare(rs.updatedAt)} = now()
    where ${rs.policyId} = any(${bigintArray(policyIds)}) and ${rs.status} = 'planned'`);
}

export interface DueReminders {
  /** Steps taken: reminders created for them. */
  steps: { policyId: number; step: number; reminders: number }[];
  /** Steps that fell due for a policy no longer published, past its actionBy or over the cap: cancelled. */
  cancelled: number;
}

/**
 * Takes every step due at `now` and creates its reminders (see the file header), all in one
 * transaction: a step is either taken with its reminders or left planned.
 */
export async function createDueReminders(db: Queryable, p: { now: Date; maxSteps: number; rule: ReachabilityRule }): Promise<DueReminders> {
  const now = sql`${p.now.toISOString()}::timestamptz`;
  return db.transaction(async (tx) => {
    // The caller refreshed reach just before, unless another refresher held the lock (refreshReach
    // then returns at once): wait for that one to commit, so that no enterprise is judged on a
    // count still being made (an enterprise not yet counted as having a delivery would be skipped).
    await tx.execute(sql`select pg_advisory_xact_lock(${REACH_REFRESH_LOCK})`);
    const pol = policies;
    const earlier = alias(reminderSteps, 'taken');
    const taken = decodeRows(
      await tx.execute(sql`
        update ${rs}
        set ${bare(rs.status)} = case when ${pol.status} = 'published' and (${pol.actionBy} is null or ${pol.actionBy} > ${now})
              and (${pol.validUntil} is null or ${pol.validUntil} > ${now})
              -- at most maxSteps taken over the policy's life (a replaced plan numbers on after cancelled steps)
              and (select count(*) from ${rs} ${earlier} where ${earlier.policyId} = ${rs.policyId} and ${earlier.status} = 'done')
                < ${p.maxSteps}
              then 'done' else 'cancelled' end,
          ${bare(rs.doneAt)} = ${now}, ${bare(rs.updatedAt)} = now()
        from ${pol}
        where ${pol.id} = ${rs.policyId} and ${rs.status} = 'planned' and ${rs.dueAt} <= ${now}
        returning ${rs.policyId}, ${rs.step}, ${rs.status}`),
      (r) => ({ policyId: toNumber(r.policy_id), step: toNumber(r.step), status: toOneOf(STEP_STATUSES, r.status) }),
    );
    const due = taken.filter((t) => t.status === 'done');
    if (!due.length) return { steps: [], cancelled: taken.length };
    const r = alias(reachEnterprises, 'r');
    const s = alias(subscriptions, 's');
    const dl = deliveries;
    const c = alias(contacts, 'c');
    const created = decodeRows(
      await tx.execute(sql`
        with due as (
          select * from unnest(${bigintArray(due.map((d) => d.policyId))}, ${intArray(due.map((d) => d.step))}) as d(policy_id, step)
        ),
        unengaged as (
          select d.policy_id, d.step, ${r.enterpriseId}, ${r.deliveryIds}
          from due d join ${reachEnterprises} ${r} on ${r.policyId} = d.policy_id
          where ${r.engaged} = 0 and ${r.withDelivery} > 0 and not ${reminderOpenedSql(sql`d.policy_id`, sql`${r.enterpriseId}`)}
            and exists (select 1 from ${subscriptions} ${s} where ${s.enterpriseId} = ${r.enterpriseId} and ${s.active})
        ),
        -- Each contact's latest policy delivery that was not withdrawn: the channel it was tried on.
        last_policy as (
          select distinct on (u.policy_id, x.contact_id) u.policy_id, u.step, u.enterprise_id, x.contact_id, x.channel, x.fallback_channels
          from unengaged u
          cross join lateral (
            select ${dl.id}, ${dl.contactId}, ${dl.channel}, ${dl.fallbackChannels} from ${dl}
            where ${dl.id} = any(u.delivery_ids) and ${dl.status} not in ('cancelled', 'suppressed')
          ) x
          order by u.policy_id, x.contact_id, x.id desc
        ),
        -- Its latest reminder, where it had one, was tried after that.
        last_tried as (
          select l.policy_id, l.step, l.enterprise_id, l.contact_id,
            coalesce(rem.channel, l.channel) as channel, coalesce(rem.fallback_channels, l.fallback_channels) as fallback_channels
          from last_policy l
          left join lateral (
            select ${dl.channel}, ${dl.fallbackChannels} from ${dl}
            where ${dl.kind} = 'reminder' and ${dl.policyId} = l.policy_id and ${dl.contactId} = l.contact_id and ${dl.reminderStep} < l.step
              and ${dl.status} not in ('cancelled', 'suppressed')
            order by ${dl.reminderStep} desc limit 1
          ) rem on true
        )
        insert into ${dl} (${bare(dl.policyId)}, ${bare(dl.policyVersion)}, ${bare(dl.enterpriseId)}, ${bare(dl.contactId)}, ${bare(dl.channel)},
          ${bare(dl.kind)}, ${bare(dl.status)}, ${bare(dl.priority)}, ${bare(dl.reminderStep)}, ${bare(dl.fallbackChannels)},
          ${bare(dl.nextAttemptAt)})
        select t.policy_id, null, t.enterprise_id, t.contact_id, next.channel, 'reminder', 'pending', 1, t.step, next.rest, ${now}
        from last_tried t
        join ${contacts} ${c} on ${c.id} = t.contact_id and not ${c.remindersOff} and ${c.erasedAt} is null
        cross join lateral (select t.fallback_channels || t.channel as candidates) cand
        cross join lateral (
          select f.channel, cand.candidates[f.position::int + 1:] as rest
          from unnest(cand.candidates) with ordinality as f(channel, position)
          where ${reachableSql('c', sql`f.channel`, p.rule)}
          order by f.position
          limit 1
        ) next
        on conflict do nothing
        returning ${dl.id}, ${dl.policyId}, ${dl.contactId}, ${dl.channel}, ${dl.reminderStep} as step`),
      (row) => ({
        id: toNumber(row.id),
        policyId: toNumber(row.policy_id),
        contactId: toNumber(row.contact_id),
        channel: toText(row.channel),
        step: toNumber(row.step),
      }),
    );
    const byStep = new Map<string, typeof created>();
    for (const row of created) {
      const key = `${row.policyId}:${row.step}`;
      byStep.set(key, [...(byStep.get(key) ?? []), row]);
    }
    for (const group of byStep.values()) {
      const [first] = group;
      await claimAddresses(
        tx,
        { policyId: first.policyId, policyVersion: 0, kind: reminderClaimKind(first.step) },
        { ids: group.map((row) => row.id), contactIds: group.map((row) => row.contactId), channels: group.map((row) => row.channel) },
      );
    }
    const steps = due.map((d) => ({
      policyId: d.policyId,
      step: d.step,
      reminders: byStep.get(`${d.policyId}:${d.step}`)?.length ?? 0,
    }));
    await tx.execute(sql`
      update ${rs} set ${bare(rs.reminders)} = v.n
      from unnest(${bigintArray(steps.map((st) => st.policyId))}, ${intArray(steps.map((st) => st.step))},
        ${intArray(steps.map((st) => st.reminders))}) as v(policy_id, step, n)
      where ${rs.policyId} = v.policy_id and ${rs.step} = v.step`);
    return { steps, cancelled: taken.length - due.length };
  });
}

export interface ReminderCounts {
  /** Reminder deliveries by status. */
  byStatus: Record<string, number>;
  /** Dropped because the daily cap or quiet hours would have pushed them past actionBy. */
  tooLate: number;
  /** Cancelled at send because the enterprise had engaged meanwhile. */
  engagedBeforeSend: number;
}

export async function reminderCounts(db: Queryable, policyId: number): Promise<ReminderCounts> {
  const d = deliveries;
  const rows = decodeRows(
    await db.execute(sql`
      select ${d.status}, ${d.errorCode}, count(*)::int as n from ${d}
      where ${d.policyId} = ${policyId} and ${d.kind} = 'reminder' group by ${d.status}, ${d.errorCode}`),
    (r) => ({ status: toText(r.status), error_code: orNull(toText, r.error_code), n: toNumber(r.n) }),
  );
  const byStatus: Record<string, number> = {};
  let tooLate = 0;
  let engagedBeforeSend = 0;
  for (const r of rows) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + r.n;
    if (r.error_code === 'too_late') tooLate += r.n;
    if (r.error_code === 'engaged') engagedBeforeSend += r.n;
  }
  return { byStatus, tooLate, engagedBeforeSend };
}
