import { getPolicy, latestPush, listPolicies, loadMatchTarget, notifyWork, previewAudience, restartPush } from '@policy-push/db';
import { type Static, Type } from 'typebox';
import type { AppInstance } from '../../app';
import { ApiError, notFound } from '../../errors';
import { errorResponses, Id, IdParams, Page, PageQuery, page } from '../../schemas/common';
import { Policy, PolicyBody, PreviewResponse, PublishResponse, PushProgress } from './policies-schemas';
import { checkPolicy, publishPolicy, pushProgress, toPolicy } from './policies-service';

const tags = ['policies'];
const PREVIEW_SAMPLE = 20;

export default async function policiesRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.post(
    '/policies',
    {
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
        req.apiKey.id,
        req.headers['idempotency-key'] as string | undefined,
        async (policy, push, tx) => ({
          policy: toPolicy(policy),
          push: await pushProgress(tx, push),
        }),
      );
      // A replayed answer is the stored body of the first request, already in this shape.
      return reply.code(202).send(answer.body as Static<typeof PublishResponse>);
    },
  );

  app.post(
    '/policies/preview',
    {
      schema: {
        tags,
        summary: 'Who a publish would reach, per channel, with a sample and why each matched; writes nothing',
        body: PolicyBody,
        response: { 200: PreviewResponse, ...errorResponses },
      },
    },
    async (req) => {
      const values = await checkPolicy(db, req.body);
      const target = await loadMatchTarget(db, {
        departmentId: values.departmentId,
        categoryIds: values.categoryIds ?? [],
        targetGroupIds: values.targetGroupIds ?? [],
        audienceRule: values.audienceRule ?? null,
        priority: values.priority ?? 'normal',
      });
      const preview = await previewAudience(db, target, PREVIEW_SAMPLE);
      return {
        ...preview,
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
      schema: {
        tags,
        querystring: Type.Object(
          { ...PageQuery, departmentId: Type.Optional(Id), status: Type.Optional(Type.String({ enum: ['scheduled', 'published'] })) },
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
        departmentId: req.query.departmentId ? Number(req.query.departmentId) : undefined,
        status: req.query.status,
      });
      return page(rows, limit, toPolicy);
    },
  );

  app.get('/policies/:id', { schema: { tags, params: IdParams, response: { 200: Policy, ...errorResponses } } }, async (req) => {
    const policy = await getPolicy(db, Number(req.params.id));
    if (!policy) throw notFound('policy');
    return toPolicy(policy);
  });

  app.get(
    '/policies/:id/push',
    { schema: { tags, summary: 'Progress of the latest push', params: IdParams, response: { 200: PushProgress, ...errorResponses } } },
    async (req) => {
      const push = await latestPush(db, Number(req.params.id));
      if (!push) throw notFound('policy');
      return pushProgress(db, push);
    },
  );

  app.post(
    '/policies/:id/push',
    {
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
      const push = await db.transaction(async (tx) => {
        const restarted = await restartPush(tx, policy);
        await notifyWork(tx);
        return restarted;
      });
      if (!push) throw notFound('push');
      return reply.code(202).send(await pushProgress(db, push));
    },
  );
}
