// The console's delivery log, one delivery, and enterprises with their contacts (issue 14).
// Registered inside opsRoutes, so the sign-in, role, CSRF and masking hooks of /ops hold here.
//   GET  /ops/deliveries            the log: filters LOG_FILTERS, keyset pages by id (cursor)
//   GET  /ops/deliveries/export     the same filter as CSV (deliveries-export.ts: no addresses)
//   POST /ops/deliveries/retry      a confirmation with the count, then with confirm=yes the retry (audited)
//   GET  /ops/deliveries/:id        the timeline, with names, opens and the message as sent
//   GET  /ops/enterprises, /ops/enterprises/:id
import {
  bigintArray,
  contactIdsWithAddress,
  type DeliveryFilter,
  enterpriseHistory,
  getContact,
  getEnterprise,
  getPolicy,
  listContacts,
  listDeliveries,
  listSandboxMessages,
  listSubscriptions,
  policiesReceived,
  requeueFailedDeliveries,
  rowsOf,
  searchEnterprises,
  sql,
  DELIVERY_STATUSES,
  FAILED_STATUSES,
} from '@policy-push/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fromShanghaiWallClock, isChannel, shanghaiDayEnd } from '@policy-push/core';
import type { AppInstance } from '../../app-instance';
import { ApiError } from '../../errors';
import { replyWithPage } from '../../plugins/page-headers';
import { maskContacts } from '../../services/mask-contacts';
import { messageView, renderDeliveryMessage, withoutTokens } from '../../services/rendered-messages';
import { deliveriesCsv } from '../deliveries/deliveries-export';
import { deliveryDetail, recipientAddress, retryDeliveries } from '../deliveries/deliveries-service';
import { catchUp } from '../reach/reach-service';
import {
  deliveriesLogPage,
  deliveryDetailPage,
  LOG_FILTERS,
  type LogQuery,
  type LogRow,
  retryAllowed,
  retryConfirmPage,
  retryDonePage,
} from './ops-deliveries-pages';
import { enterprisePage, enterprisesPage } from './ops-enterprises-pages';
import { e, errorPage } from './ops-layout';
import type { OpsUser } from './ops-session';

const ID = /^[1-9][0-9]{0,14}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const CODE = /^[^\s]{1,64}$/;
const PROVIDER = /^[a-z0-9_-]{1,40}$/;
const PAGE_SIZE = 50;
/** Contacts one recipient search follows (several contacts may share an address). */
const RECIPIENT_CONTACTS = 20;

export interface OpsContext {
  user: (req: FastifyRequest) => OpsUser;
  csrf: (req: FastifyRequest) => string;
}

/** A Beijing calendar day's start; `next` gives the day after's (an inclusive "to"). */
function beijingDay(day: string, next = false): Date | null {
  // 2026-02-30 would roll over into March: a day is valid when it reads back the same.
  const utc = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(utc.getTime()) || utc.toISOString().slice(0, 10) !== day) return null;
  const d = fromShanghaiWallClock(`${day}T00:00:00`);
  return next ? shanghaiDayEnd(d) : d;
}

/** The fields of the query that are not valid, by name (unknown names included). */
export function logQueryProblems(raw: Record<string, unknown>): { query: LogQuery; cursor?: string; bad: string[] } {
  const bad: string[] = [];
  const query: LogQuery = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k !== 'cursor' && !(LOG_FILTERS as readonly string[]).includes(k)) bad.push(k);
    else if (typeof v !== 'string') bad.push(k);
    else if (k !== 'cursor' && v.trim()) query[k as keyof LogQuery] = v.trim();
  }
  const cursor = typeof raw.cursor === 'string' && raw.cursor ? raw.cursor : undefined;
  const check = (name: keyof LogQuery, ok: (v: string) => boolean) => {
    const v = query[name];
    if (v !== undefined && !ok(v) && !bad.includes(name)) bad.push(name);
  };
  check('policyId', (v) => ID.test(v));
  check('status', (v) => (DELIVERY_STATUSES as readonly string[]).includes(v));
  check('channel', (v) => isChannel(v));
  check('recipient', (v) => v.length <= 200);
  check('enterprise', (v) => v.length <= 200);
  check('contactIds', (v) => v.split(',').length <= RECIPIENT_CONTACTS && v.split(',').every((id) => /^[0-9]{1,15}$/.test(id)));
  check('errorCode', (v) => CODE.test(v));
  check('provider', (v) => PROVIDER.test(v));
  check('from', (v) => DAY.test(v) && beijingDay(v) !== null);
  check('to', (v) => DAY.test(v) && beijingDay(v) !== null);
  if (cursor && !ID.test(cursor)) bad.push('cursor');
  return { query, cursor, bad };
}

function filterOfLog(q: LogQuery, contactIds: number[] | undefined): DeliveryFilter {
  return {
    policyId: q.policyId ? Number(q.policyId) : undefined,
    status: q.status,
    channel: q.channel,
    contactIds,
    enterprise: q.enterprise,
    errorCode: q.errorCode,
    provider: q.provider,
    from: q.from ? beijingDay(q.from)! : undefined,
    to: q.to ? beijingDay(q.to, true)! : undefined,
  };
}

/** Rolls a transaction back after the work in it, keeping what the work answered. */
class RolledBack<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back');
  }
}

export function registerLogRoutes(app: AppInstance, o: OpsContext) {
  const { db } = app.deps.db;
  const hide = { schema: { hide: true } };
  const refuse = (req: FastifyRequest, reply: FastifyReply, status: number, code: string, zh: string, en: string) =>
    replyWithPage(reply, errorPage(status, code, zh, en, o.user(req), o.csrf(req)), status);
  // unknown_filter for a name no filter has; invalid_<name> for one bad value; invalid_filter for several.
  const badFilters = (req: FastifyRequest, reply: FastifyReply, bad: string[], known: readonly string[] = [...LOG_FILTERS, 'cursor']) =>
    replyWithPage(
      reply,
      errorPage(
        400,
        bad.some((b) => !known.includes(b)) ? 'unknown_filter' : bad.length === 1 ? `invalid_${bad[0]}` : 'invalid_filter',
        `筛选条件无效或未知：${bad.join(', ')}`,
        `Unknown or invalid filters: ${bad.join(', ')}`,
        o.user(req),
        o.csrf(req),
      ).replace(' data-status="400"', ` data-status="400" data-fields="${e(bad.join(' '))}"`),
      400,
    );

  /** The query's filter, with a recipient resolved to the ids of its contacts (so no page or link carries the address). */
  async function logFilter(query: LogQuery) {
    let contactIds = query.contactIds ? query.contactIds.split(',').map(Number) : undefined;
    if (query.recipient) {
      const found = await contactIdsWithAddress(db, recipientAddress(query.recipient), RECIPIENT_CONTACTS);
      contactIds = contactIds ? contactIds.filter((id) => found.includes(id)) : found;
    }
    // Both are found through the reach counters (console-queries.ts): brought up to date first.
    if (contactIds || query.enterprise) await catchUp(db);
    return { filter: filterOfLog(query, contactIds), contactIds };
  }

  app.get('/ops/deliveries', hide, async (req, reply) => {
    const { query, cursor, bad } = logQueryProblems(req.query as Record<string, unknown>);
    if (bad.length) return badFilters(req, reply, bad);
    const { filter, contactIds } = await logFilter(query);
    const rows = await listDeliveries(db, filter, { before: cursor ? Number(cursor) : undefined, limit: PAGE_SIZE });
    const kept = rows.slice(0, PAGE_SIZE);
    const names = await namesOf(kept);
    const enterprises = query.enterprise ? await searchEnterprises(db, query.enterprise, { limit: 10 }) : [];
    // Pages after the first carry the contacts found, never the address typed.
    const carried: LogQuery = { ...query, recipient: undefined, contactIds: contactIds?.join(',') || (query.recipient ? '0' : undefined) };
    return replyWithPage(
      reply,
      deliveriesLogPage(
        {
          query,
          rows: kept.map((d) => ({ ...d, ...names(d) })),
          nextCursor: rows.length > PAGE_SIZE ? String(kept.at(-1)!.id) : null,
          enterprises: enterprises.slice(0, 10),
          recipientContacts: query.recipient ? (contactIds?.length ?? 0) : null,
        },
        o.user(req),
        o.csrf(req),
        carried,
      ),
    );
  });

  /** Policy titles and enterprise names for a page of deliveries, by primary key. */
  async function namesOf(rows: { policyId: number | null; enterpriseId: number }[]) {
    const policyIds = [...new Set(rows.flatMap((r) => (r.policyId === null ? [] : [r.policyId])))];
    const enterpriseIds = [...new Set(rows.map((r) => r.enterpriseId))];
    const titles = new Map(
      rowsOf<{ id: string; title: string }>(
        await db.execute(sql`select id::text, title from policies where id = any(${bigintArray(policyIds)})`),
      ).map((r) => [Number(r.id), r.title]),
    );
    const enterprises = new Map(
      rowsOf<{ id: string; name: string }>(
        await db.execute(sql`select id::text, name from enterprises where id = any(${bigintArray(enterpriseIds)})`),
      ).map((r) => [Number(r.id), r.name]),
    );
    return (d: { policyId: number | null; enterpriseId: number }): Pick<LogRow, 'policyTitle' | 'enterpriseName'> => ({
      policyTitle: d.policyId === null ? null : (titles.get(d.policyId) ?? null),
      enterpriseName: enterprises.get(d.enterpriseId) ?? null,
    });
  }

  app.get('/ops/deliveries/export', hide, async (req, reply) => {
    const { query, bad } = logQueryProblems(req.query as Record<string, unknown>);
    if (bad.length) return badFilters(req, reply, bad);
    const { filter } = await logFilter(query);
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    // No addresses in it at all (contact ids name the recipients), so it is the same for every role.
    const csv = deliveriesCsv(db, filter, {
      onDone: (rows) => req.log.info({ rows, keyId: o.user(req).keyId }, 'deliveries exported from the console'),
    });
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="deliveries-${stamp}.csv"`).send(csv);
  });

  app.post('/ops/deliveries/retry', hide, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { _csrf: _, confirm, ...fields } = body;
    const { query, bad } = logQueryProblems(fields);
    if (!query.policyId && !bad.includes('policyId')) bad.push('policyId');
    if (!bad.length && !retryAllowed(query))
      bad.push(...Object.keys(query).filter((k) => !['policyId', 'channel', 'errorCode', 'status'].includes(k)));
    if (!bad.length && query.status && !(FAILED_STATUSES as readonly string[]).includes(query.status)) bad.push('status');
    if (bad.length) return badFilters(req, reply, bad);
    const u = o.user(req);
    const policy = await getPolicy(db, Number(query.policyId));
    if (!policy) return refuse(req, reply, 404, 'not_found', '没有这项政策。', 'No such policy.');
    // As on the API: a test key may change only policies published with a test key.
    if (u.mode === 'test' && !policy.test)
      return refuse(
        req,
        reply,
        403,
        'live_policy',
        '测试密钥不能重试正式政策的投递。',
        "A test key cannot retry a live policy's deliveries.",
      );
    const filter = {
      policyId: policy.id,
      channel: query.channel,
      errorCode: query.errorCode,
      status: query.status as 'failed' | 'undelivered' | undefined,
    };
    const shown = { policyId: String(policy.id), channel: query.channel, errorCode: query.errorCode, status: query.status };
    if (confirm !== 'yes') {
      // Exactly what the retry would re-queue: the same statement, rolled back.
      let count = 0;
      if (policy.status === 'published') {
        try {
          await db.transaction(async (tx) => {
            throw new RolledBack((await requeueFailedDeliveries(tx, filter)).length);
          });
        } catch (err) {
          if (!(err instanceof RolledBack)) throw err;
          count = err.value as number;
        }
      }
      return replyWithPage(reply, retryConfirmPage(shown, policy.title, count, u, o.csrf(req)));
    }
    try {
      const requeued = await retryDeliveries(db, filter, { apiKeyId: u.keyId, ip: req.ip });
      req.log.info({ policyId: policy.id, requeued, keyId: u.keyId }, 'failed deliveries re-queued from the console');
      return replyWithPage(reply, retryDonePage(String(policy.id), requeued, u, o.csrf(req)));
    } catch (err) {
      if (err instanceof ApiError && err.statusCode < 500)
        return refuse(req, reply, err.statusCode, err.code, '此政策的投递不能重试。', err.message);
      throw err;
    }
  });

  app.get('/ops/deliveries/:id', hide, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (!ID.test(id)) return refuse(req, reply, 400, 'invalid_id', '投递编号无效。', 'Not a delivery id.');
    const u = o.user(req);
    let detail;
    try {
      detail = await deliveryDetail(db, Number(id));
    } catch (err) {
      if (err instanceof ApiError && err.statusCode === 404)
        return refuse(req, reply, 404, 'not_found', '没有这条投递。', 'No such delivery.');
      throw err;
    }
    const policy = detail.policyId ? await getPolicy(db, Number(detail.policyId)) : undefined;
    const enterprise = await getEnterprise(db, Number(detail.enterpriseId));
    const contact = await getContact(db, Number(detail.contactId));
    const address = contact ? ({ wechat: contact.wechatOpenid, sms: contact.phone, email: contact.email }[detail.channel] ?? null) : null;
    const shownContact = contact && {
      id: contact.id,
      erased: contact.erasedAt !== null,
      ...(u.role === 'admin'
        ? { name: contact.name, address }
        : (maskContacts({ name: contact.name, phone: null, address }) as { name: string | null; address: string | null })),
    };
    const rendered = await renderDeliveryMessage(db, app.deps.config, app.deps.signingSecret, Number(id)).catch(() => null);
    const view = rendered ? messageView(rendered.message, rendered.locale) : null;
    // Re-queued by a retry: an attempt numbered 1 again after earlier attempts, or waiting with its count reset.
    const attempts = detail.history.attempts;
    const requeues = attempts.filter((a, i) => i > 0 && a.attempt === 1).map((a) => ({ at: new Date(a.at), count: 1 }));
    const retriedAudit = detail.policyId
      ? rowsOf<{ created_at: string; count: number }>(
          await db.execute(sql`select created_at, (details->>'count')::int as count from audit_log
            where subject_type = 'policy' and subject_id = ${detail.policyId} and action = 'deliveries.retry'
              and created_at >= ${detail.createdAt}::timestamptz order by id`),
        )
      : [];
    const shownRequeues =
      requeues.length || (attempts.length && detail.attempts === 0)
        ? retriedAudit.filter((r) => Number(r.count) > 0).map((r) => ({ at: new Date(r.created_at), count: Number(r.count) }))
        : [];
    return replyWithPage(
      reply,
      deliveryDetailPage(
        {
          detail,
          policy: policy ? { id: policy.id, title: policy.title, docNumber: policy.docNumber } : null,
          enterprise: enterprise ? { id: enterprise.id, name: enterprise.name, creditCode: enterprise.creditCode } : null,
          contact: shownContact ?? null,
          message: view && rendered ? { view: u.role === 'admin' ? view : withoutTokens(view), renderedFrom: rendered.renderedFrom } : null,
          requeues: shownRequeues,
          sandbox: await listSandboxMessages(db, { limit: 10, deliveryId: Number(id) }),
        },
        u,
        o.csrf(req),
      ),
    );
  });

  // -------------------------------------------------------------------------------------------
  // Enterprises and contacts

  app.get('/ops/enterprises', hide, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const bad = Object.keys(q).filter((k) => !['q', 'after'].includes(k) || typeof q[k] !== 'string');
    const text = typeof q.q === 'string' ? q.q.trim() : '';
    if (text.length > 200 && !bad.includes('q')) bad.push('q');
    if (typeof q.after === 'string' && q.after && !ID.test(q.after) && !bad.includes('after')) bad.push('after');
    if (bad.length) return badFilters(req, reply, bad, ['q', 'after']);
    const after = typeof q.after === 'string' && q.after ? Number(q.after) : undefined;
    const rows = text ? await searchEnterprises(db, text, { after, limit: PAGE_SIZE }) : [];
    const kept = rows.slice(0, PAGE_SIZE);
    return replyWithPage(
      reply,
      enterprisesPage(text, kept, rows.length > PAGE_SIZE ? String(kept.at(-1)!.id) : null, o.user(req), o.csrf(req)),
    );
  });

  app.get('/ops/enterprises/:id', hide, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (!ID.test(id)) return refuse(req, reply, 400, 'invalid_id', '企业编号无效。', 'Not an enterprise id.');
    const enterprise = await getEnterprise(db, Number(id));
    if (!enterprise) return refuse(req, reply, 404, 'not_found', '没有这家企业。', 'No such enterprise.');
    const u = o.user(req);
    const contacts = (await listContacts(db, enterprise.id, { limit: 200 })).slice(0, 200);
    const subscriptions = (await listSubscriptions(db, { enterpriseId: enterprise.id, limit: 200 })).slice(0, 200);
    await catchUp(db);
    const received = await policiesReceived(db, enterprise.id, 100);
    const history = await enterpriseHistory(
      db,
      { enterpriseId: enterprise.id, contactIds: contacts.map((c) => c.id), subscriptionIds: subscriptions.map((s) => s.id) },
      100,
    );
    const categoryNames = new Map(
      rowsOf<{ id: string; name_zh: string }>(
        await db.execute(
          sql`select id::text, name_zh from categories where id = any(${bigintArray([...new Set(subscriptions.flatMap((s) => s.categoryIds))])})`,
        ),
      ).map((r) => [Number(r.id), r.name_zh]),
    );
    const departmentNames = new Map(
      rowsOf<{ id: string; name_zh: string }>(
        await db.execute(
          sql`select id::text, name_zh from departments where id = any(${bigintArray([...new Set(subscriptions.flatMap((s) => s.departmentIds))])})`,
        ),
      ).map((r) => [Number(r.id), r.name_zh]),
    );
    // Admins see addresses and names; everyone else (ops) masked, openids included.
    const shownContacts = u.role === 'admin' ? contacts : contacts.map((c) => maskContacts(c) as typeof c);
    return replyWithPage(
      reply,
      enterprisePage(
        { enterprise, contacts: shownContacts, subscriptions, categoryNames, departmentNames, received, history },
        u,
        o.csrf(req),
      ),
    );
  });
}
