import { type Delivery, getDeliveryWithHistory, listDeliveries } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app';
import { notFound } from '../../errors';
import { errorResponses, Id, IdParams, Page, PageQuery, page, Timestamp } from '../../schemas/common';

const tags = ['deliveries'];
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const STATUSES = ['pending', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'suppressed', 'held', 'digested'];

const DeliverySchema = Type.Object({
  id: Id,
  policyId: Nullable(Id),
  policyVersion: Nullable(Type.Integer()),
  enterpriseId: Id,
  contactId: Id,
  channel: Type.String(),
  kind: Type.String(),
  status: Type.String(),
  priority: Type.String({ description: 'urgent | normal' }),
  attempts: Type.Integer(),
  nextAttemptAt: Timestamp,
  providerMessageId: Nullable(Type.String()),
  errorCode: Nullable(Type.String()),
  why: Type.Object({ categoryIds: Type.Array(Id), groupIds: Type.Array(Id) }),
  fallbackOf: Nullable(Id),
  sentAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const DeliveryDetail = Type.Object({
  ...DeliverySchema.properties,
  attempts: Type.Integer(),
  history: Type.Object({
    attempts: Type.Array(
      Type.Object({
        attempt: Type.Integer(),
        outcome: Type.String(),
        providerCode: Nullable(Type.String()),
        providerMessageId: Nullable(Type.String()),
        error: Nullable(Type.String()),
        latencyMs: Type.Integer(),
        worker: Type.String(),
        at: Timestamp,
      }),
    ),
    events: Type.Array(Type.Object({ type: Type.String(), errorCode: Nullable(Type.String()), at: Timestamp })),
  }),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const idOrNull = (n: number | null) => (n === null ? null : String(n));

const toDelivery = (d: Delivery) => ({
  id: String(d.id),
  policyId: idOrNull(d.policyId),
  policyVersion: d.policyVersion,
  enterpriseId: String(d.enterpriseId),
  contactId: String(d.contactId),
  channel: d.channel,
  kind: d.kind,
  status: d.status,
  priority: d.priority === 0 ? 'urgent' : 'normal',
  attempts: d.attempts,
  nextAttemptAt: d.nextAttemptAt.toISOString(),
  providerMessageId: d.providerMessageId,
  errorCode: d.errorCode,
  why: { categoryIds: (d.matchedCategoryIds ?? []).map(String), groupIds: (d.matchedGroupIds ?? []).map(String) },
  fallbackOf: idOrNull(d.fallbackOf),
  sentAt: iso(d.sentAt),
  finishedAt: iso(d.finishedAt),
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
});

export default async function deliveriesRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.get(
    '/deliveries',
    {
      schema: {
        tags,
        summary: 'The delivery log, newest first',
        querystring: Type.Object(
          {
            ...PageQuery,
            policyId: Type.Optional(Id),
            enterpriseId: Type.Optional(Id),
            contactId: Type.Optional(Id),
            channel: Type.Optional(Type.String({ enum: ['wechat', 'sms', 'email'] })),
            status: Type.Optional(Type.String({ enum: STATUSES })),
            from: Type.Optional(Type.String({ format: 'date-time', description: 'created at or after' })),
            to: Type.Optional(Type.String({ format: 'date-time', description: 'created before' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(DeliverySchema), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 50;
      const rows = await listDeliveries(
        db,
        {
          policyId: q.policyId ? Number(q.policyId) : undefined,
          enterpriseId: q.enterpriseId ? Number(q.enterpriseId) : undefined,
          contactId: q.contactId ? Number(q.contactId) : undefined,
          channel: q.channel,
          status: q.status,
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
        },
        { before: q.cursor ? Number(q.cursor) : undefined, limit },
      );
      return page(rows, limit, toDelivery);
    },
  );

  app.get(
    '/deliveries/:id',
    {
      schema: {
        tags,
        summary: 'One delivery with every attempt and receipt',
        params: IdParams,
        response: { 200: DeliveryDetail, ...errorResponses },
      },
    },
    async (req) => {
      const found = await getDeliveryWithHistory(db, Number(req.params.id));
      if (!found) throw notFound('delivery');
      return {
        ...toDelivery(found.delivery),
        history: {
          attempts: found.attempts.map((a) => ({
            attempt: a.attempt,
            outcome: a.outcome,
            providerCode: a.providerCode,
            providerMessageId: a.providerMessageId,
            error: a.error,
            latencyMs: a.latencyMs,
            worker: a.worker,
            at: a.createdAt.toISOString(),
          })),
          events: found.events.map((e) => ({ type: e.type, errorCode: e.errorCode, at: e.occurredAt.toISOString() })),
        },
      };
    },
  );
}
