// Follow-up plans (issue 15): "if an enterprise has not engaged 3 days after publication, and
// again 2 days before actionBy, remind it". A plan is a list of steps, each one delay from an
// anchor, written as an ISO 8601 duration in whole days and/or hours:
//   { afterPublish: 'P3D' }     due 3 days after the policy's publication
//   { beforeActionBy: 'PT36H' } due 36 hours before its actionBy
// Checked here, once, for publish and amend; the steps are stored in reminder_steps.

export type FollowUpStep = { afterPublish: string } | { beforeActionBy: string };
export interface FollowUpPlan {
  steps: FollowUpStep[];
}

/** A step as stored: an anchor and a positive offset in hours. */
export interface PlannedStep {
  anchor: 'publish' | 'action_by';
  offsetHours: number;
  dueAt: Date;
}

export interface FollowUpProblem {
  path: string;
  code: string;
}

const DURATION = /^P(?:(\d{1,4})D)?(?:T(\d{1,5})H)?$/;

/** Hours in a 'P3D' / 'PT12H' / 'P1DT6H' duration; null when it is not one (or is signed). */
export function durationHours(value: string): number | null {
  const m = DURATION.exec(value);
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  return Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0);
}

/** Due time of a step from its anchor; null when it is anchored on an actionBy the policy lacks. */
export function stepDueAt(anchor: PlannedStep['anchor'], offsetHours: number, publishAt: Date, actionBy: Date | null): Date | null {
  if (anchor === 'publish') return new Date(publishAt.getTime() + offsetHours * 3_600_000);
  return actionBy ? new Date(actionBy.getTime() - offsetHours * 3_600_000) : null;
}

/**
 * Checks actionBy and a plan against the policy's dates; returns the planned steps, or the
 * problems, each naming its field. `alreadyDone` steps count against `maxSteps` (amending a plan
 * replaces only the steps not yet taken).
 */
export function planFollowUp(p: {
  plan: FollowUpPlan | null;
  actionBy: Date | null;
  publishAt: Date;
  validUntil: Date | null;
  now: Date;
  maxSteps: number;
  alreadyDone?: number;
  /** Check actionBy (false when an amendment leaves it as it was). */
  checkActionBy?: boolean;
}): { steps: PlannedStep[]; problems: FollowUpProblem[] } {
  const problems: FollowUpProblem[] = [];
  const { actionBy } = p;
  if (actionBy && p.checkActionBy !== false) {
    if (actionBy <= p.now) problems.push({ path: 'actionBy', code: 'action_by_in_past' });
    else if (actionBy <= p.publishAt) problems.push({ path: 'actionBy', code: 'action_by_before_publish' });
    if (p.validUntil && actionBy > p.validUntil) problems.push({ path: 'actionBy', code: 'action_by_after_valid_until' });
  }
  const steps: PlannedStep[] = [];
  const given = p.plan?.steps ?? [];
  if (given.length + (p.alreadyDone ?? 0) > p.maxSteps) {
    problems.push({ path: 'followUp.steps', code: 'too_many_steps' });
    return { steps, problems };
  }
  given.forEach((s, i) => {
    const path = `followUp.steps.${i}`;
    const [anchor, value] =
      'afterPublish' in s
        ? (['publish', s.afterPublish] as const)
        : (['action_by', (s as { beforeActionBy: string }).beforeActionBy] as const);
    const field = `${path}.${anchor === 'publish' ? 'afterPublish' : 'beforeActionBy'}`;
    const hours = durationHours(value);
    if (hours === null) return problems.push({ path: field, code: 'invalid_duration' });
    if (hours <= 0) return problems.push({ path: field, code: 'delay_not_positive' });
    if (anchor === 'action_by' && !actionBy) return problems.push({ path: field, code: 'action_by_missing' });
    const dueAt = stepDueAt(anchor, hours, p.publishAt, actionBy)!;
    if (dueAt <= p.now || dueAt < p.publishAt) return problems.push({ path: field, code: 'step_before_publish' });
    if (actionBy && dueAt >= actionBy) return problems.push({ path: field, code: 'step_after_action_by' });
    if (p.validUntil && dueAt >= p.validUntil) return problems.push({ path: field, code: 'step_after_valid_until' });
    steps.push({ anchor, offsetHours: hours, dueAt });
  });
  return { steps, problems };
}
