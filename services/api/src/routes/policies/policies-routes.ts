import { getPolicy, latestPush, listPolicies, listReminderSteps, loadMatchTarget, previewAudience, reminderCounts } from '@policy-push/db';
import { type Static, Type } from 'typebox';
import { policyAudience } from '@policy-push/core';
import type { AppInstance } from '../../app';
import { departmentsInScope, scope } from '../../plugins/authorize';
import { actorOf } from '../../services/audit';
import { notFound } from '../../errors';
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
import { checkPolicy, policyVersions, publishPolicy, pushProgress, toPolicy, toReminderStep } from './policies-service';
import { checkPublishLimits } from './publish-limits';
import { amendOrEditPolicy, cancelScheduledPolicy, pushPolicyAgain, revokePublishedPolicy } from './policy-actions';
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
      const target = await loadMatchTarget(db, policyAudience(values), {
        requireConfirmedEmail: app.deps.config.dispatcher.requireConfirmedEmail,
      });
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
    return policyVersions(db, policyId);
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
    async (req, reply) => reply.code(202).send(await pushPolicyAgain(db, Number(req.params.id), actorOf(req), limitCheck)),
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
    async (req) => toPolicy(await amendOrEditPolicy(db, Number(req.params.id), req.body, actorOf(req), limitCheck, maxSteps)),
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
    async (req) => toPolicy(await revokePublishedPolicy(db, Number(req.params.id), req.body, actorOf(req))),
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
    async (req) => toPolicy(await cancelScheduledPolicy(db, Number(req.params.id), actorOf(req))),
  );
}
