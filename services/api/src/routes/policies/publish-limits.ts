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
// The counting is the matching SQL itself, in packages/db (countMatched, shared with the preview,
// and queuedInDay); what is decided here is only whether a limit is passed.
import { CHANNELS } from '@policy-push/channels';
import { DAY_MS, type LimitSettings, policyAudience, type PolicyAudienceValues, shanghaiDayStart } from '@policy-push/core';
import { countMatched, loadMatchTarget, queuedInDay, type Queryable } from '@policy-push/db';
import { ApiError, type FieldProblem } from '../../errors';

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
  const audience = await countMatched(db, target, { notDeliveredIn: check.pushAgain });

  const threshold = limits.largeAudienceThreshold;
  if (check.confirmLargeAudience !== undefined && threshold > 0 && audience.contacts > threshold && !check.confirmLargeAudience) {
    throw new ApiError(
      422,
      'large_audience_unconfirmed',
      `this publish would reach ${audience.contacts} contacts, more than ${threshold}: send confirmLargeAudience: true to publish it`,
      [{ path: 'confirmLargeAudience', code: 'large_audience_unconfirmed' }],
    );
  }

  const capped = CHANNELS.filter((ch) => limits.departmentDailyCap[ch] > 0 && audience.byChannel[ch] > 0);
  if (!capped.length) return;
  const dayStart = shanghaiDayStart(now);
  const queued = await queuedInDay(db, policy.departmentId, { from: dayStart, to: new Date(dayStart.getTime() + DAY_MS) }, check.policyId);
  const over = capped.filter((ch) => queued[ch] + audience.byChannel[ch] > limits.departmentDailyCap[ch]);
  if (!over.length) return;
  const fields: FieldProblem[] = over.map((ch) => ({ path: `audience.${ch}`, code: 'daily_cap_exceeded' }));
  const reasons = over.map(
    (ch) =>
      `${ch}: cap ${limits.departmentDailyCap[ch]} a day, ${queued[ch]} already queued today, this would add ${audience.byChannel[ch]}`,
  );
  throw new ApiError(422, 'daily_cap_exceeded', `the department's daily cap would be exceeded (${reasons.join('; ')})`, fields);
}
