import {
  amendPolicy,
  cancelScheduled,
  doneReminderSteps,
  getPolicy,
  listReminderSteps,
  reminderCounts,
  replaceReminderPlan,
  replanReminderSteps,
  latestPush,
  listPolicies,
  listPolicyVersions,
  loadMatchTarget,
  notifyWork,
  previewAudience,
  reschedule,
  restartPush,
  revokePolicy,
  eq,
} from '@policy-push/db';
import { policies as schemaPolicies } from '@policy-push/db';
import { type FollowUpPlan, planFollowUp } from '@policy-push/core';
import { type Static, Type } from 'typebox';
import type { AppInstance } from '../../app';
import { departmentsInScope, scope } from '../../plugins/authorize';
import { actorOf, audit } from '../../services/audit';
import { ApiError, invalidField, notFound, unprocessable } from '../../errors';
import { errorResponses, Id, IdParams, Page, PageQuery, page } from '../../schemas/common';
import {
  Policy,
  PolicyAmendment,
  PolicyBody,
  PolicyVersion,
  PolicyVersionList,
  PreviewResponse,
  PublishResponse,
  PushProgress,
  ReminderReport,
  Revocation,
  VersionParams,
} from './policies-schemas';
import { checkPolicy, publishPolicy, pushProgress, toPolicy, toPolicyVersion, toReminderStep } from './policies-service';
import { checkPublishLimits } from './publish-limits';
import { messageView, previewSamples } from '../../services/rendered-messages';

const tags = ['policies'];
const PREVIEW_SAMPLE = 20;

export default async function policiesRoutes(app: AppInstance) {
  const { db } = app.deps.db;
  const { limits, dispatcher } = app.deps.config;
  const limitCheck = { limits, requireConfirmedEmail: dispatcher.requireConfirmedEmail };
  const maxSteps = dispatcher.reminderMaxSteps;

  app.post(
    '/policies',
    {
      config: { access: { publisher: scope.bodyDepartment } },
      schema: {
        tags,
        summary: 'Publish a policy now or at publishAt; its push runs in the background',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: PolicyBody,
        response: { 202: PublishResponse, ...errorResponses },
      },
    },
    async (req, reply) => {
      const answer = await publishPolicy(
        db,
        req.body,
        { ...actorOf(req), test: req.apiKey.mode === 'test' },
        req.headers['idempotency-key'] as string | undefined,
        async (policy, push, tx) => ({
          policy: toPolicy(policy),
          push: await pushProgress(tx, push),
        }),
        (values) => checkPublishLimits(db, values, { ...limitCheck, confirmLargeAudience: req.body.confirmLargeAudience ?? false }),
        maxSteps,
      );
      // A replayed answer is the stored body of the first request, already in this shape.
      return reply.code(202).send(answer.body as Static<typeof PublishResponse>);
    },
  );

  app.post(
    '/policies/preview',
    {
      config: { access: { publisher: scope.bodyDepartment } },
      schema: {
        tags,
        summary: 'Who a publish would reach, per channel, with a sample and why each matched; writes nothing',
        body: PolicyBody,
        response: { 200: PreviewResponse, ...errorResponses },
      },
    },
    async (req) => {
      const values = await checkPolicy(db, req.body, new Date(), maxSteps);
      const target = await loadMatchTarget(
        db,
        {
          departmentId: values.departmentId,
          categoryIds: values.categoryIds ?? [],
          targetGroupIds: values.targetGroupIds ?? [],
          audienceRule: values.audienceRule ?? null,
          priority: values.priority ?? 'normal',
        },
        { requireConfirmedEmail: app.deps.config.dispatcher.requireConfirmedEmail },
      );
      const preview = await previewAudience(db, target, PREVIEW_SAMPLE);
      const samples = await previewSamples(db, app.deps.config, values, preview);
      return {
        ...preview,
        messages: samples.map((s) => ({ contactId: String(s.contactId), message: messageView(s.message, s.locale) })),
        sample: preview.sample.map((s) => ({
          enterpriseId: String(s.enterpriseId),
          enterpriseName: s.enterpriseName,
          contactId: String(s.contactId),
          channel: s.channel,
          status: s.status,
          why: { categories: s.categoryCodes, groups: s.groupNames },
        })),
      };
    },
  );

  app.get(
    '/policies',
    {
      config: { access: { ops: true, publisher: scope.filtered } },
      schema: {
        tags,
        querystring: Type.Object(
          {
            ...PageQuery,
            departmentId: Type.Optional(Id),
            status: Type.Optional(Type.String({ enum: ['scheduled', 'published', 'revoked', 'expired', 'cancelled'] })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Policy), ...errorResponses },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const rows = await listPolicies(db, {
        before: req.query.cursor ? Number(req.query.cursor) : undefined,
        limit,
        departmentIds: departmentsInScope(req.apiKey, req.query.departmentId ? Number(req.query.departmentId) : undefined),
        status: req.query.status,
      });
      return page(rows, limit, toPolicy);
    },
  );

  app.get(
    '/policies/:id',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment(), enterprise: scope.policyReceived() } },
      schema: { tags, params: IdParams, response: { 200: Policy, ...errorResponses } },
    },
    async (req) => {
      const policy = await getPolicy(db, Number(req.params.id));
      if (!policy) throw notFound('policy');
      return toPolicy(policy);
    },
  );

  // A policy's versions: read like its push and its reach, by its department's publishers and ops.
  const versions = async (policyId: number) => {
    if (!(await getPolicy(db, policyId))) throw notFound('policy');
    const rows = await listPolicyVersions(db, policyId);
    return rows.map((v, i) => toPolicyVersion(v, i > 0 && rows[i - 1].version === v.version - 1 ? rows[i - 1] : undefined));
  };

  app.get(
    '/policies/:id/versions',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment() } },
      schema: {
        tags,
        summary: 'Every published version of the policy, oldest first, each whole and with what changed',
        description:
          'Each version is kept as it was published, with the department’s SMS signature and WeChat template then. Versions ' +
          'published before snapshots were kept say snapshot: partial and answer with what was kept. A scheduled policy has none yet.',
        params: IdParams,
        response: { 200: PolicyVersionList, ...errorResponses },
      },
    },
    async (req) => ({ items: await versions(Number(req.params.id)) }),
  );

  app.get(
    '/policies/:id/versions/:version',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment() } },
      schema: {
        tags,
        summary: 'One version of the policy as it was published, with what changed since the one before',
        params: VersionParams,
        response: { 200: PolicyVersion, ...errorResponses },
      },
    },
    async (req) => {
      const found = (await versions(Number(req.params.id))).find((v) => v.version === Number(req.params.version));
      if (!found) throw notFound('version');
      return found;
    },
  );

  app.get(
    '/policies/:id/push',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment() } },
      schema: { tags, summary: 'Progress of the latest push', params: IdParams, response: { 200: PushProgress, ...errorResponses } },
    },
    async (req) => {
      const push = await latestPush(db, Number(req.params.id));
      if (!push) throw notFound('policy');
      return pushProgress(db, push);
    },
  );

  app.get(
    '/policies/:id/reminders',
    {
      config: { access: { ops: true, publisher: scope.policyOfDepartment() } },
      schema: {
        tags,
        summary: 'The policy’s follow-up steps and what became of its reminders',
        params: IdParams,
        response: { 200: ReminderReport, ...errorResponses },
      },
    },
    async (req) => {
      const policy = await getPolicy(db, Number(req.params.id));
      if (!policy) throw notFound('policy');
      const counts = await reminderCounts(db, policy.id);
      return {
        actionBy: policy.actionBy ? policy.actionBy.toISOString() : null,
        steps: (await listReminderSteps(db, policy.id)).map(toReminderStep),
        deliveries: counts.byStatus,
        tooLate: counts.tooLate,
        engagedBeforeSend: counts.engagedBeforeSend,
      };
    },
  );

  app.post(
    '/policies/:id/push',
    {
      config: { access: { publisher: scope.policyOfDepartment(), policyChanged: (req) => Number((req.params as { id: string }).id) } },
      schema: {
        tags,
        summary: 'Push the same version again: reaches only what is new, creates no duplicate',
        params: IdParams,
        response: { 202: PushProgress, ...errorResponses },
      },
    },
    async (req, reply) => {
      const policy = await getPolicy(db, Number(req.params.id));
      if (!policy) throw notFound('policy');
      if (policy.status !== 'published' && policy.status !== 'scheduled') {
        throw new ApiError(409, 'policy_not_pushable', `a ${policy.status} policy cannot be pushed`);
      }
      await checkPublishLimits(db, policy, {
        ...limitCheck,
        policyId: policy.id,
        pushAgain: { policyId: policy.id, version: policy.version },
      });
      const push = await db.transaction(async (tx) => {
        const restarted = await restartPush(tx, policy);
        await audit(tx, actorOf(req), { action: 'policy.push', subjectType: 'policy', subjectId: policy.id });
        await notifyWork(tx);
        return restarted;
      });
      if (!push) throw notFound('push');
      return reply.code(202).send(await pushProgress(db, push));
    },
  );

  app.patch(
    '/policies/:id',
    {
      config: { access: { publisher: scope.policyOfDepartment(), policyChanged: (req) => Number((req.params as { id: string }).id) } },
      schema: {
        tags,
        summary: 'Amend a policy (a new version), or edit a scheduled one',
        params: IdParams,
        body: PolicyAmendment,
        response: { 200: Policy, ...errorResponses },
      },
    },
    async (req) => {
      const now = new Date();
      const body = req.body;
      const updated = await db.transaction(async (tx) => {
        const policy = await getPolicy(tx, Number(req.params.id), { forUpdate: true });
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
        if (policy.status !== 'scheduled' && policy.status !== 'published')
          throw new ApiError(409, 'policy_not_amendable', `a ${policy.status} policy cannot be amended`);
        // actionBy and the follow-up plan, checked against the dates the policy will have.
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
        /** The steps not yet taken follow the new plan, or the new dates. */
        const replan = async () => {
          if (body.followUp !== undefined) await replaceReminderPlan(tx, policy.id, followUp.steps);
          else if (body.actionBy !== undefined || body.publishAt !== undefined) {
            const orphaned = await replanReminderSteps(tx, policy.id, { publishAt, actionBy });
            if (orphaned)
              throw invalidField('actionBy', 'action_by_missing', 'the follow-up plan has steps before actionBy: give a new plan with it');
          }
        };
        const planOnly = Object.keys(body).every((k) => k === 'actionBy' || k === 'followUp');
        if (planOnly) {
          // Only the deadline or the plan: the policy is edited in place, no new version, no update notice.
          const [edited] = await tx
            .update(schemaPolicies)
            .set({ actionBy, updatedAt: now })
            .where(eq(schemaPolicies.id, policy.id))
            .returning();
          await replan();
          await audit(tx, actorOf(req), {
            action: 'policy.amend',
            subjectType: 'policy',
            subjectId: policy.id,
            details: { fields: Object.keys(body), followUpSteps: followUp.steps.length },
          });
          return edited;
        }
        if (body.actionBy !== undefined) Object.assign(changes, { actionBy });
        if (policy.status === 'scheduled') {
          const publishAt = body.publishAt ? new Date(body.publishAt) : policy.publishAt;
          if (publishAt < now) throw invalidField('publishAt', 'publish_at_in_past', 'publishAt is in the past');
          if (validUntil && validUntil <= publishAt)
            throw invalidField('validUntil', 'valid_until_before_publish', 'validUntil is not after publishAt');
          const [edited] = await tx
            .update(schemaPolicies)
            .set({ ...changes, publishAt, updatedAt: now })
            .where(eq(schemaPolicies.id, policy.id))
            .returning();
          await reschedule(tx, edited, publishAt);
          await replan();
          await audit(tx, actorOf(req), {
            action: 'policy.amend',
            subjectType: 'policy',
            subjectId: policy.id,
            details: { scheduled: true, fields: Object.keys(body) },
          });
          return edited;
        }
        if (policy.status !== 'published') throw new ApiError(409, 'policy_not_amendable', `a ${policy.status} policy cannot be amended`);
        if (body.publishAt !== undefined) throw invalidField('publishAt', 'already_published', 'a published policy cannot be rescheduled');
        if (validUntil && validUntil <= now) throw invalidField('validUntil', 'valid_until_in_past', 'validUntil is in the past');
        // Every prior recipient gets an update notice: the whole audience counts against the caps.
        await checkPublishLimits(tx, policy, { ...limitCheck, policyId: policy.id });
        const amended = await amendPolicy(tx, policy, changes);
        await replan();
        await audit(tx, actorOf(req), {
          action: 'policy.amend',
          subjectType: 'policy',
          subjectId: policy.id,
          details: { version: amended.version, fields: Object.keys(body) },
        });
        await notifyWork(tx);
        return amended;
      });
      return toPolicy(updated);
    },
  );

  app.post(
    '/policies/:id/revoke',
    {
      config: { access: { publisher: scope.policyOfDepartment(), policyChanged: (req) => Number((req.params as { id: string }).id) } },
      schema: {
        tags,
        summary: 'Revoke: unsent deliveries are cancelled at once; optionally tell those already reached',
        params: IdParams,
        body: Revocation,
        response: { 200: Policy, ...errorResponses },
      },
    },
    async (req) => {
      const revoked = await db.transaction(async (tx) => {
        const policy = await getPolicy(tx, Number(req.params.id), { forUpdate: true });
        if (!policy) throw notFound('policy');
        if (policy.status !== 'published') throw new ApiError(409, 'policy_not_revocable', `a ${policy.status} policy cannot be revoked`);
        const result = await revokePolicy(tx, policy, req.body.reason, req.body.notifyRecipients ?? false);
        await audit(tx, actorOf(req), {
          action: 'policy.revoke',
          subjectType: 'policy',
          subjectId: policy.id,
          details: { notifyRecipients: req.body.notifyRecipients ?? false },
        });
        await notifyWork(tx);
        return result.policy;
      });
      return toPolicy(revoked);
    },
  );

  app.post(
    '/policies/:id/cancel',
    {
      config: { access: { publisher: scope.policyOfDepartment(), policyChanged: (req) => Number((req.params as { id: string }).id) } },
      schema: {
        tags,
        summary: 'Cancel a scheduled policy before it is published',
        params: IdParams,
        response: { 200: Policy, ...errorResponses },
      },
    },
    async (req) => {
      const cancelled = await db.transaction(async (tx) => {
        const policy = await getPolicy(tx, Number(req.params.id), { forUpdate: true });
        if (!policy) throw notFound('policy');
        if (policy.status !== 'scheduled')
          throw new ApiError(409, 'policy_not_scheduled', `a ${policy.status} policy cannot be cancelled; revoke it instead`);
        await audit(tx, actorOf(req), { action: 'policy.cancel', subjectType: 'policy', subjectId: policy.id });
        return cancelScheduled(tx, policy);
      });
      return toPolicy(cancelled);
    },
  );
}
