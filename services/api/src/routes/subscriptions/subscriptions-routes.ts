import { deleteSubscription, getSubscription, listSubscriptions, type Subscription as SubscriptionRow } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app';
import { emptyPage, enterpriseInScope, scope } from '../../plugins/authorize';
import { notFound } from '../../errors';
import { errorResponses, IdParams, Page, page } from '../../schemas/common';
import { Subscription, SubscriptionCreate, SubscriptionListQuery, SubscriptionUpdate } from './subscriptions-schemas';
import { changeSubscription, createSubscription } from './subscriptions-service';

const tags = ['subscriptions'];

export const toSubscription = (s: SubscriptionRow) => ({
  id: String(s.id),
  enterpriseId: String(s.enterpriseId),
  categoryIds: s.categoryIds.map(String),
  departmentIds: s.departmentIds.map(String),
  channels: s.channels,
  frequency: s.frequency,
  active: s.active,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});

export default async function subscriptionsRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.post(
    '/subscriptions',
    {
      config: { access: { enterprise: scope.bodyEnterprise } },
      schema: { tags, body: SubscriptionCreate, response: { 201: Subscription, ...errorResponses } },
    },
    async (req, reply) => reply.code(201).send(toSubscription(await createSubscription(db, req.body))),
  );

  app.get(
    '/subscriptions',
    {
      config: { access: { ops: true, enterprise: scope.filtered } },
      schema: { tags, querystring: SubscriptionListQuery, response: { 200: Page(Subscription), ...errorResponses } },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const enterpriseId = enterpriseInScope(req.apiKey, req.query.enterpriseId ? Number(req.query.enterpriseId) : undefined);
      if (enterpriseId === null) return emptyPage;
      const rows = await listSubscriptions(db, { after: Number(req.query.cursor ?? 0), limit, enterpriseId });
      return page(rows, limit, toSubscription);
    },
  );

  app.get(
    '/subscriptions/:id',
    {
      config: { access: { ops: true, enterprise: scope.subscriptionOfEnterprise() } },
      schema: { tags, params: IdParams, response: { 200: Subscription, ...errorResponses } },
    },
    async (req) => {
      const s = await getSubscription(db, Number(req.params.id));
      if (!s) throw notFound('subscription');
      return toSubscription(s);
    },
  );

  app.patch(
    '/subscriptions/:id',
    {
      config: { access: { enterprise: scope.subscriptionOfEnterprise() } },
      schema: { tags, params: IdParams, body: SubscriptionUpdate, response: { 200: Subscription, ...errorResponses } },
    },
    async (req) => toSubscription(await changeSubscription(db, Number(req.params.id), req.body)),
  );

  app.delete(
    '/subscriptions/:id',
    {
      config: { access: { enterprise: scope.subscriptionOfEnterprise() } },
      schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (req, reply) => {
      if (!(await deleteSubscription(db, Number(req.params.id)))) throw notFound('subscription');
      return reply.code(204).send(null);
    },
  );
}
