// The lifecycle service: what happens to a published or scheduled policy after its publish: push
// again, amend (or edit a scheduled one), revoke, cancel. Each checks the action against the
// lifecycle table (core policy-lifecycle.ts), runs its updates (db lifecycle-queries.ts) and
// writes its audit row. The API routes (policies-routes.ts) and the console's policy page both
// call these, so both check, write and audit the same way.
import {
  amendPolicy,
  cancelScheduled,
  type Database,
  doneReminderSteps,
  editPolicy,
  getPolicy,
  notifyWork,
  type Policy,
  replaceReminderPlan,
  replanReminderSteps,
  reschedule,
  restartPush,
  revokePolicy,
} from '@policy-push/db';
import { type FollowUpPlan, lifecycleStep, type PolicyAction, planFollowUp } from '@policy-push/core';
import type { Static } from 'typebox';
import { ApiError, invalidField, notFound, unprocessable } from '../../errors';
import { audit, type AuditBy } from '../../services/audit';
import type { PolicyAmendment, Revocation } from './policies-schemas';
import { checkPublishLimits, type LimitCheck } from './publish-limits';
import { pushProgress } from './policies-service';

export type Amendment = Static<typeof PolicyAmendment>;
export type RevocationBody = Static<typeof Revocation>;
/** The publish limits' settings, without what each action adds. */
export type Limits = Omit<LimitCheck, 'policyId' | 'pushAgain' | 'confirmLargeAudience'>;

/** Throws the lifecycle table's refusal (409) when the policy's status does not allow the action. */
function checkAllowed(policy: Policy, action: PolicyAction): void {
  const step = lifecycleStep(policy.status, action);
  if (!step.allowed) throw new ApiError(409, step.code, step.message);
}

/** Pushes the current version again: only what is new is sent. */
export async function pushPolicyAgain(db: Database, policyId: number, by: AuditBy, limits: Limits) {
  const policy = await getPolicy(db, policyId);
  if (!policy) throw notFound('policy');
  checkAllowed(policy, 'push-again');
  await checkPublishLimits(db, policy, { ...limits, policyId: policy.id, pushAgain: { policyId: policy.id, version: policy.version } });
  const push = await db.transaction(async (tx) => {
    const restarted = await restartPush(tx, policy);
    await audit(tx, by, { action: 'policy.push', subjectType: 'policy', subjectId: policy.id });
    await notifyWork(tx);
    return restarted;
  });
  if (!push) throw notFound('push');
  return pushProgress(db, push);
}

/**
 * A published policy becomes a new version; a scheduled one is edited in place (and may move).
 * actionBy and the follow-up plan are checked against the dates the policy will have; changing only
 * them edits the policy in place (no new version, no update notice), and the steps not yet taken
 * follow the new plan or the new dates.
 */
export async function amendOrEditPolicy(
  db: Database,
  policyId: number,
  body: Amendment,
  by: AuditBy,
  limits: Limits,
  maxSteps: number,
  now = new Date(),
) {
  return db.transaction(async (tx): Promise<Policy> => {
    const policy = await getPolicy(tx, policyId, { forUpdate: true });
    if (!policy) throw notFound('policy');
    const changes = {
      ...(body.title !== undefined && { title: body.title }),
      ...(body.summary !== undefined && { summary: body.summary }),
      ...(body.titleEn !== undefined && { titleEn: body.titleEn }),
      ...(body.summaryEn !== undefined && { summaryEn: body.summaryEn }),
      ...(body.url !== undefined && { url: body.url }),
      ...(body.interpretationUrls !== undefined && { interpretationUrls: body.interpretationUrls }),
      ...(body.validUntil !== undefined && { validUntil: body.validUntil === null ? null : new Date(body.validUntil) }),
    };
    const validUntil = 'validUntil' in changes ? changes.validUntil : policy.validUntil;
    const actionBy = body.actionBy === undefined ? policy.actionBy : body.actionBy === null ? null : new Date(body.actionBy);
    checkAllowed(policy, 'amend');
    const publishAt = policy.status === 'scheduled' && body.publishAt ? new Date(body.publishAt) : policy.publishAt;
    const followUp = planFollowUp({
      plan: body.followUp === undefined ? null : (body.followUp as FollowUpPlan | null),
      actionBy,
      publishAt,
      validUntil: validUntil ?? null,
      now,
      maxSteps,
      alreadyDone: body.followUp ? await doneReminderSteps(tx, policy.id) : 0,
      checkActionBy: body.actionBy !== undefined || body.validUntil !== undefined,
    });
    if (followUp.problems.length)
      throw unprocessable(
        followUp.problems,
        `the policy cannot be amended: ${followUp.problems.map((p) => `${p.path} ${p.code}`).join(', ')}`,
      );
    const replan = async () => {
      if (body.followUp !== undefined) await replaceReminderPlan(tx, policy.id, followUp.steps);
      else if (body.actionBy !== undefined || body.publishAt !== undefined) {
        const orphaned = await replanReminderSteps(tx, policy.id, { publishAt, actionBy });
        if (orphaned)
          throw invalidField('actionBy', 'action_by_missing', 'the follow-up plan has steps before actionBy: give a new plan with it');
      }
    };
    if (Object.keys(body).every((k) => k === 'actionBy' || k === 'followUp')) {
      const edited = await editPolicy(tx, policy.id, { actionBy }, now);
      await replan();
      await audit(tx, by, {
        action: 'policy.amend',
        subjectType: 'policy',
        subjectId: policy.id,
        details: { fields: Object.keys(body), followUpSteps: followUp.steps.length },
      });
      return edited;
    }
    if (body.actionBy !== undefined) Object.assign(changes, { actionBy });
    if (policy.status === 'scheduled') {
      if (publishAt < now) throw invalidField('publishAt', 'publish_at_in_past', 'publishAt is in the past');
      if (validUntil && validUntil <= publishAt)
        throw invalidField('validUntil', 'valid_until_before_publish', 'validUntil is not after publishAt');
      const edited = await editPolicy(tx, policy.id, { ...changes, publishAt }, now);
      await reschedule(tx, edited, publishAt);
      await replan();
      await audit(tx, by, {
        action: 'policy.amend',
        subjectType: 'policy',
        subjectId: policy.id,
        details: { scheduled: true, fields: Object.keys(body) },
      });
      return edited;
    }
    if (body.publishAt !== undefined) throw invalidField('publishAt', 'already_published', 'a published policy cannot be rescheduled');
    if (validUntil && validUntil <= now) throw invalidField('validUntil', 'valid_until_in_past', 'validUntil is in the past');
    // Every prior recipient gets an update notice: the whole audience counts against the caps.
    await checkPublishLimits(tx, policy, { ...limits, policyId: policy.id });
    const amended = await amendPolicy(tx, policy, changes);
    await replan();
    await audit(tx, by, {
      action: 'policy.amend',
      subjectType: 'policy',
      subjectId: policy.id,
      details: { version: amended.version, fields: Object.keys(body) },
    });
    await notifyWork(tx);
    return amended;
  });
}

/** Revoke: unsent deliveries are cancelled at once; with notifyRecipients those reached are told. */
export async function revokePublishedPolicy(db: Database, policyId: number, body: RevocationBody, by: AuditBy) {
  return db.transaction(async (tx) => {
    const policy = await getPolicy(tx, policyId, { forUpdate: true });
    if (!policy) throw notFound('policy');
    checkAllowed(policy, 'revoke');
    const result = await revokePolicy(tx, policy, body.reason, body.notifyRecipients ?? false);
    await audit(tx, by, {
      action: 'policy.revoke',
      subjectType: 'policy',
      subjectId: policy.id,
      details: { notifyRecipients: body.notifyRecipients ?? false },
    });
    await notifyWork(tx);
    return result.policy;
  });
}

/** Cancels a scheduled policy before it is published. */
export async function cancelScheduledPolicy(db: Database, policyId: number, by: AuditBy) {
  return db.transaction(async (tx) => {
    const policy = await getPolicy(tx, policyId, { forUpdate: true });
    if (!policy) throw notFound('policy');
    checkAllowed(policy, 'cancel');
    await audit(tx, by, { action: 'policy.cancel', subjectType: 'policy', subjectId: policy.id });
    return cancelScheduled(tx, policy);
  });
}
