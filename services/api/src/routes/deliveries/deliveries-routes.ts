// The delivery log (issue 5, "Delivery logs"): search, one delivery's timeline and why it was
// sent, a streaming CSV export, and an audited retry of failed deliveries.
import { listDeliveries } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { emptyPage, scope } from '../../plugins/authorize';
import { ApiError, notFound } from '../../errors';
import { ErrorResponse, errorResponses, IdParams, Page, page } from '../../schemas/common';
import { maskContacts } from '../../services/mask-contacts';
import { messageView, renderDeliveryMessage, withoutTokens } from '../../services/rendered-messages';
import { catchUp } from '../reach/reach-service';
import { deliveriesCsv } from './deliveries-export';
import { DeliveryDetail, DeliveryMessage, DeliverySchema, ExportQuery, ListQuery, RetryBody, RetryResponse } from './deliveries-schemas';
import { deliveryContext, deliveryDetail, filterOf, retryDeliveries, toDelivery } from './deliveries-service';

const readers = { ops: true, publisher: scope.filtered, enterprise: scope.filtered } as const;

const tags = ['deliveries'];

export default async function deliveriesRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.get(
    '/deliveries',
    {
      config: { access: readers },
      schema: {
        tags,
        summary: 'The delivery log, newest first',
        querystring: ListQuery,
        response: { 200: Page(DeliverySchema), ...errorResponses },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const filter = filterOf(req.query, req.apiKey);
      if (!filter) return emptyPage;
      // Found through the reach counters (console-queries.ts): brought up to date first.
      if (filter.recipient || filter.enterprise) await catchUp(db);
      const rows = await listDeliveries(db, filter, { before: req.query.cursor ? Number(req.query.cursor) : undefined, limit });
      const context = await deliveryContext(db, rows);
      return page(rows, limit, (d) => toDelivery(d, context));
    },
  );

  app.get(
    '/deliveries/export',
    {
      config: { access: readers },
      schema: {
        tags,
        summary: 'The delivery log as CSV (UTF-8 with BOM, for Excel), oldest first, streamed',
        description:
          'The same filters as the log. Streamed in pages, so any size can be exported; it ends at the newest delivery when it began. Recipients are named by contact id, never by address.',
        querystring: ExportQuery,
        produces: ['text/csv'],
        response: {
          200: { description: 'CSV', content: { 'text/csv': { schema: Type.String() } } },
          400: ErrorResponse,
          401: ErrorResponse,
        },
      },
    },
    async (req, reply) => {
      const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
      // Out of scope: an empty export, as an unknown enterprise would give.
      const filter = filterOf(req.query, req.apiKey) ?? { departmentIds: [] };
      if (filter.recipient || filter.enterprise) await catchUp(db);
      const csv = deliveriesCsv(db, filter, {
        onDone: (rows) => req.log.info({ rows }, 'deliveries exported'),
      });
      return (
        reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="deliveries-${stamp}.csv"`)
          .header('cache-control', 'no-store')
          // A stream, which Fastify pipes; the schema's string type describes the bytes.
          .send(csv as unknown as string)
      );
    },
  );

  app.get(
    '/deliveries/:id',
    {
      config: { access: { ops: true, publisher: scope.deliveryOfDepartment(), enterprise: scope.deliveryOfEnterprise() } },
      schema: {
        tags,
        summary: 'One delivery: why it was sent, and its whole timeline',
        description:
          'why: the categories and service groups it matched. timeline: when it was made, each provider call with its latency and raw answer, receipts, opens, and the deliveries that fell back from or to it, oldest first.',
        params: IdParams,
        response: { 200: DeliveryDetail, ...errorResponses },
      },
    },
    async (req) => deliveryDetail(db, Number(req.params.id)),
  );

  app.get(
    '/deliveries/:id/message',
    {
      config: { access: { ops: true, publisher: scope.deliveryOfDepartment(), enterprise: scope.deliveryOfEnterprise() } },
      schema: {
        tags,
        summary: 'The message as sent: rendered again from the version it was sent for',
        description:
          'Email subject, text and HTML; SMS text and segments; WeChat template id, data and link — rendered by the dispatcher’s ' +
          'own renderer from the snapshot of the delivery’s policy version (renderedFrom says when there was none). Admins see ' +
          'everything; publishers and ops see the address masked; everyone but admins gets the signed link tokens removed. ' +
          '409 for a digest or an email confirmation, which carry no policy message of their own.',
        params: IdParams,
        response: { 200: DeliveryMessage, ...errorResponses },
      },
    },
    async (req) => {
      const rendered = await renderDeliveryMessage(db, app.deps.config, app.deps.signingSecret, Number(req.params.id));
      if (rendered === undefined) throw notFound('delivery');
      if (rendered === null) throw new ApiError(409, 'no_policy_message', 'this delivery carries no policy message of its own');
      const { delivery: d, message, renderedFrom, locale } = rendered;
      const role = req.apiKey.role;
      const view = messageView(message, locale);
      const answer = {
        deliveryId: String(d.id),
        policyId: String(d.policyId),
        policyVersion: d.policyVersion!,
        kind: d.kind,
        status: d.status,
        to: d.address,
        renderedFrom,
        links: role === 'admin' ? 'signed_again' : 'removed',
        message: role === 'admin' ? view : withoutTokens(view),
      };
      // Ops answers are masked for every route (plugins/authorize.ts); publishers see no contacts either.
      return role === 'publisher' ? (maskContacts(answer) as typeof answer) : answer;
    },
  );

  app.post(
    '/deliveries/retry',
    {
      config: { access: { ops: true, policyChanged: (req) => Number((req.body as { policyId: string }).policyId) } },
      schema: {
        tags,
        summary: "Re-queue a published policy's failed deliveries (after a provider outage); audited",
        description:
          'Back to pending with a fresh attempt budget, due now: deliveries of the policy’s current version that are failed or undelivered (or the one status given), on the channel and with the error code given. Never one that was delivered, and never one whose contact has since been reached, or is being reached, for this policy on another channel. Of a contact’s several failed deliveries only the first is re-queued. Answers how many.',
        body: RetryBody,
        response: { 200: RetryResponse, ...errorResponses },
      },
    },
    async (req) => {
      const b = req.body;
      const requeued = await retryDeliveries(
        db,
        {
          policyId: Number(b.policyId),
          channel: b.channel,
          errorCode: b.errorCode,
          status: b.status as 'failed' | 'undelivered' | undefined,
        },
        { apiKeyId: req.apiKey.id, ip: req.ip },
      );
      if (requeued) req.log.info({ policyId: b.policyId, requeued }, 'failed deliveries re-queued');
      return { requeued };
    },
  );
}
