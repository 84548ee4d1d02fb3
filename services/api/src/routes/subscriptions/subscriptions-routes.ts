import { deleteSubscription, getSubscription, listSubscriptions, type Subscription as SubscriptionRow } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { emptyPage, enterpriseInScope, scope } from '../../plugins/authorize';
import { notFound } from '../../errors';
import { actorOf, auditedWrite, fieldsOf } from '../../services/audit';
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
    async (req, reply) => {
      const row = await auditedWrite(
        db,
        actorOf(req),
        (tx) => createSubscription(tx, req.body),
        (sub) => ({
          action: 'subscription.create',
          subjectType: 'subscription',
          subjectId: sub.id,
          details: { enterpriseId: String(sub.enterpriseId), ...fieldsOf(req.body) },
        }),
      );
      return reply.code(201).send(toSubscription(row));
    },
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
    async (req) =>
      toSubscription(
        await auditedWrite(
          db,
          actorOf(req),
          (tx) => changeSubscription(tx, Number(req.params.id), req.body),
          (sub) => ({ action: 'subscription.update', subjectType: 'subscription', subjectId: sub.id, details: fieldsOf(req.body) }),
        ),
      ),
  );

  app.delete(
    '/subscriptions/:id',
    {
      config: { access: { enterprise: scope.subscriptionOfEnterprise() } },
      schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      await auditedWrite(
        db,
        actorOf(req),
        async (tx) => {
          if (!(await deleteSubscription(tx, id))) throw notFound('subscription');
        },
        () => ({ action: 'subscription.delete', subjectType: 'subscription', subjectId: id }),
      );
      return reply.code(204).send(null);
    },
  );
}
