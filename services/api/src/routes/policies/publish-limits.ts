// Limits on what one publish may send (README "Limits"), so that a mistaken publish cannot send
// a million SMS:
//   - a daily cap per department and channel: what this publish would queue on a channel, plus
//     what the department has queued on it today (Asia/Shanghai), may not exceed the cap;
//   - a publish reaching more contacts than LARGE_AUDIENCE_THRESHOLD must say
//     `confirmLargeAudience: true`.
// Checked before anything is written, for a publish, a push again and an amendment. A scheduled
// publish is checked when it is made, against that day's queue: nothing is checked again when its
// time comes. Two publishes at the same instant can both pass (the check is not under a lock):
// these are guards against mistakes, not an exact quota.
//
// The counting is the matching SQL itself (matchedDeliveriesSql), not a second matcher.
import { CHANNELS, type Channel } from '@policy-push/channels';
import {
  type AudienceRule,
  type LimitSettings,
  shanghaiDayStart,
  DAY_MS,
  policyAudience,
  type PolicyAudienceValues,
} from '@policy-push/core';
import { loadMatchTarget, matchedDeliveriesSql, type Queryable, rowsOf, sql } from '@policy-push/db';
import { ApiError, type FieldProblem } from '../../errors';

type PerChannel = Record<Channel, number>;

export { shanghaiDayStart }; // for its tests, which were written here

export interface LimitCheck {
  limits: LimitSettings;
  requireConfirmedEmail: boolean;
  /** Publish only: whether the body confirmed a large audience (absent = not a publish). */
  confirmLargeAudience?: boolean;
  /** A push again of this policy version: count only contacts it has no delivery for yet. */
  pushAgain?: { policyId: number; version: number };
  /** The policy's own pushes are not counted as queued (a push again or an amendment replaces them). */
  policyId?: number;
  now?: Date;
}

/** Throws a 422 naming the channel, cap and counts, or the audience size, when a limit is passed. */
export async function checkPublishLimits(db: Queryable, policy: PolicyAudienceValues, check: LimitCheck): Promise<void> {
  const { limits } = check;
  const now = check.now ?? new Date();
  const target = await loadMatchTarget(db, policyAudience(policy), { requireConfirmedEmail: check.requireConfirmedEmail });
  const matched = matchedDeliveriesSql(target);
  const notYetSent = check.pushAgain
    ? sql`where not exists (select 1 from deliveries d where d.policy_id = ${check.pushAgain.policyId}
        and d.policy_version = ${check.pushAgain.version} and d.contact_id = m.contact_id and d.channel = m.channel and d.kind = 'policy')`
    : sql``;
  const [audience] = rowsOf<PerChannel & { contacts: number }>(
    await db.execute(sql`
      select count(distinct contact_id)::int as contacts,
        count(*) filter (where channel = 'wechat')::int as wechat, count(*) filter (where channel = 'sms')::int as sms,
        count(*) filter (where channel = 'email')::int as email
      from (${matched}) m ${notYetSent}`),
  );

  const threshold = limits.largeAudienceThreshold;
  if (check.confirmLargeAudience !== undefined && threshold > 0 && audience.contacts > threshold && !check.confirmLargeAudience) {
    throw new ApiError(
      422,
      'large_audience_unconfirmed',
      `this publish would reach ${audience.contacts} contacts, more than ${threshold}: send confirmLargeAudience: true to publish it`,
      [{ path: 'confirmLargeAudience', code: 'large_audience_unconfirmed' }],
    );
  }

  const capped = CHANNELS.filter((ch) => limits.departmentDailyCap[ch] > 0 && audience[ch] > 0);
  if (!capped.length) return;
  const queued = await queuedToday(db, policy.departmentId, check.policyId, now);
  const over = capped.filter((ch) => queued[ch] + audience[ch] > limits.departmentDailyCap[ch]);
  if (!over.length) return;
  const fields: FieldProblem[] = over.map((ch) => ({ path: `audience.${ch}`, code: 'daily_cap_exceeded' }));
  const reasons = over.map(
    (ch) => `${ch}: cap ${limits.departmentDailyCap[ch]} a day, ${queued[ch]} already queued today, this would add ${audience[ch]}`,
  );
  throw new ApiError(422, 'daily_cap_exceeded', `the department's daily cap would be exceeded (${reasons.join('; ')})`, fields);
}

/**
 * Messages the department has queued today per channel: deliveries of its policies created since
 * midnight, plus what its pushes still fanning out (or due later today) will add after their
 * checkpoint. The deliveries are found from the department's policies through the deliveries'
 * unique key, whose first column is the policy id.
 */
async function queuedToday(db: Queryable, departmentId: number, exceptPolicyId: number | undefined, now: Date): Promise<PerChannel> {
  const dayStart = shanghaiDayStart(now);
  const dayEnd = new Date(dayStart.getTime() + DAY_MS);
  const [made] = rowsOf<PerChannel>(
    await db.execute(sql`
      select count(*) filter (where d.channel = 'wechat')::int as wechat, count(*) filter (where d.channel = 'sms')::int as sms,
        count(*) filter (where d.channel = 'email')::int as email
      from policies p join deliveries d on d.policy_id = p.id
      where p.department_id = ${departmentId} and d.created_at >= ${dayStart.toISOString()}::timestamptz`),
  );
  const queued = { ...made };
  const waiting = rowsOf<{ checkpoint: string | number } & Record<string, unknown>>(
    await db.execute(sql`
      select pu.checkpoint, p.category_ids, p.target_group_ids, p.audience_rule, p.priority
      from pushes pu join policies p on p.id = pu.policy_id and p.version = pu.policy_version
      where p.department_id = ${departmentId} and p.status in ('scheduled', 'published') and pu.status <> 'fanned_out'
        and pu.start_at < ${dayEnd.toISOString()}::timestamptz ${exceptPolicyId ? sql`and p.id <> ${exceptPolicyId}` : sql``}`),
  );
  for (const push of waiting) {
    const target = await loadMatchTarget(db, {
      departmentId,
      categoryIds: (push.category_ids as (string | number)[]).map(Number),
      targetGroupIds: (push.target_group_ids as (string | number)[]).map(Number),
      audienceRule: push.audience_rule as AudienceRule | null,
      priority: push.priority as string,
    });
    const [rest] = rowsOf<PerChannel>(
      await db.execute(sql`
        select count(*) filter (where channel = 'wechat')::int as wechat, count(*) filter (where channel = 'sms')::int as sms,
          count(*) filter (where channel = 'email')::int as email
        from (${matchedDeliveriesSql(target, { from: Number(push.checkpoint), to: Number.MAX_SAFE_INTEGER })}) m`),
    );
    for (const ch of CHANNELS) queued[ch] += rest[ch];
  }
  return queued;
}
