// The console's policies (issue 14), registered by ops-routes.ts inside its scope (so its sign-in,
// role, CSRF and masking hooks apply):
//   GET  /ops/policies                      every policy, searchable and filtered, a page at a time
//   GET  /ops/policies/:id                  one policy (ops-policy-page.ts)
//   GET  /ops/policies/:id/live             the same numbers as JSON, for the page's script
//   POST /ops/policies/:id/amend | revoke | cancel | push   the actions, through the API's own service functions
//   GET  /ops/assets/policy-live.js
import { fromShanghaiWallClock, safeError, shanghaiDayEnd } from '@policy-push/core';
import {
  type Database,
  departments,
  eq,
  getPolicy,
  getReachTimeline,
  latestPush,
  listDepartments,
  listPolicyOverview,
  type Policy,
  policyScope,
} from '@policy-push/db';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { ApiError, type FieldProblem } from '../../errors';
import { replyWithPage } from '../../plugins/page-headers';
import { PolicyAmendment, Revocation } from '../policies/policies-schemas';
import { policyVersions, pushProgress } from '../policies/policies-service';
import {
  type Amendment,
  amendOrEditPolicy,
  cancelScheduledPolicy,
  pushPolicyAgain,
  revokePublishedPolicy,
} from '../policies/policy-lifecycle';
import { policyReachAnswer, reachGapsPage } from '../reach/reach-service';
import { formValue, formValues, type FormValues, fromLocalTime } from './ops-forms';
import { errorPage } from './ops-layout';
import { POLICY_STATUSES, policiesPage } from './ops-policies-pages';
import { type ActionForm, currentValues, liveNumbers, policyPage, type PolicyView, type TimelinePoint } from './ops-policy-page';
import { POLICY_LIVE_JS } from './ops-scripts';
import { csrfToken, type OpsUser } from './ops-session';

const ID = /^[1-9][0-9]{0,14}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const PAGE_SIZE = 50;
const GAPS_SHOWN = 20;
const LIST_PARAMS = new Set(['q', 'departmentId', 'status', 'from', 'to', 'cursor']);

const ajv = addFormats.default(new Ajv({ allErrors: true, strict: false }));
/** A body checked against the API's own schema: the problems with their paths as the API names them. */
function schemaProblems(schema: TSchema, body: unknown): FieldProblem[] {
  const validate = ajv.compile(schema);
  if (validate(body)) return [];
  const problems: FieldProblem[] = [];
  for (const err of validate.errors ?? []) {
    const path = err.instancePath.replace(/^\//, '').split('/')[0] || String(err.params.missingProperty ?? 'form');
    if (!problems.some((p) => p.path === path)) problems.push({ path, code: err.keyword });
  }
  return problems;
}

/** A Beijing calendar day's start. */
const dayStart = (day: string) => fromShanghaiWallClock(`${day}T00:00:00`);

export async function opsPolicyRoutes(app: AppInstance) {
  const { db } = app.deps.db;
  const secret = app.deps.signingSecret;
  const { limits, dispatcher } = app.deps.config;
  const limitCheck = { limits, requireConfirmedEmail: dispatcher.requireConfirmedEmail };
  const hide = { schema: { hide: true } };
  const user = (req: FastifyRequest) => req.opsUser as OpsUser;
  const csrf = (req: FastifyRequest) => csrfToken(secret, user(req).session);
  const fail = (req: FastifyRequest, reply: FastifyReply, status: number, code: string, zh: string, en: string) =>
    replyWithPage(reply, errorPage(status, code, zh, en, user(req), csrf(req)), status);
  /** A publisher's departments (the API's departmentsInScope); undefined: every department. */
  const ownDepartments = (u: OpsUser) => (u.role === 'publisher' ? u.departmentIds : undefined);

  app.get('/ops/assets/policy-live.js', hide, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('x-content-type-options', 'nosniff').send(POLICY_LIVE_JS),
  );

  // -------------------------------------------------------------------------------------------
  // The list

  app.get('/ops/policies', hide, async (req, reply) => {
    const q = req.query as FormValues;
    const u = user(req);
    const own = ownDepartments(u);
    const all = await listDepartments(db, { limit: 500 });
    const choices = own ? all.filter((d) => own.includes(d.id)) : all;
    const problems: FieldProblem[] = Object.keys(q)
      .filter((k) => !LIST_PARAMS.has(k))
      .map((path) => ({ path, code: 'unknown_parameter' }));
    for (const [name, value] of Object.entries(q)) if (Array.isArray(value)) problems.push({ path: name, code: 'type' });
    const text = (name: string) => (typeof q[name] === 'string' ? (q[name] as string).trim() : '');
    const departmentId = text('departmentId');
    if (departmentId && !ID.test(departmentId)) problems.push({ path: 'departmentId', code: 'pattern' });
    if (text('status') && !(POLICY_STATUSES as readonly string[]).includes(text('status'))) problems.push({ path: 'status', code: 'enum' });
    for (const name of ['from', 'to'])
      if (text(name) && (!DAY.test(text(name)) || Number.isNaN(dayStart(text(name)).getTime())))
        problems.push({ path: name, code: 'format' });
    if (text('cursor') && !ID.test(text('cursor'))) problems.push({ path: 'cursor', code: 'pattern' });
    if (text('q').length > 200) problems.push({ path: 'q', code: 'maxLength' });
    const from = text('from') && DAY.test(text('from')) ? dayStart(text('from')) : undefined;
    // "to" is the last day shown: up to the next day's start.
    const to = text('to') && DAY.test(text('to')) ? shanghaiDayEnd(dayStart(text('to'))) : undefined;
    if (from && to && !problems.some((p) => p.path === 'from' || p.path === 'to') && from >= to)
      problems.push({ path: 'to', code: 'to_not_after_from' });
    if (problems.length) {
      return replyWithPage(reply, policiesPage({ filter: q, departments: choices, rows: [], next: null, problems }, u, csrf(req)), 400);
    }
    // Another department's, for a publisher: an empty list, as the API answers.
    const requested = departmentId ? Number(departmentId) : undefined;
    const departmentIds = own && requested !== undefined ? (own.includes(requested) ? [requested] : []) : own;
    const rows = await listPolicyOverview(
      db,
      { search: text('q') || undefined, departmentId: requested, departmentIds, status: text('status') || undefined, from, to },
      { before: text('cursor') ? Number(text('cursor')) : undefined, limit: PAGE_SIZE },
    );
    const kept = rows.slice(0, PAGE_SIZE);
    const next =
      rows.length > PAGE_SIZE
        ? new URLSearchParams({
            ...Object.fromEntries(Object.entries(q).filter(([k, v]) => k !== 'cursor' && v)),
            cursor: String(kept.at(-1)!.id),
          } as Record<string, string>).toString()
        : null;
    return replyWithPage(reply, policiesPage({ filter: q, departments: choices, rows: kept, next, problems: [] }, u, csrf(req)));
  });

  // -------------------------------------------------------------------------------------------
  // One policy

  /** The policy in the key's scope, or null (another department's is as missing, as in the API). */
  async function policyOf(req: FastifyRequest): Promise<Policy | null> {
    const id = (req.params as { id: string }).id;
    if (!ID.test(id)) return null;
    const policy = await getPolicy(db, Number(id));
    const own = ownDepartments(user(req));
    return policy && (!own || own.includes(policy.departmentId)) ? policy : null;
  }

  const notFoundPage = (req: FastifyRequest, reply: FastifyReply) =>
    fail(req, reply, 404, 'not_found', '没有这项政策。', 'No such policy.');

  /** Reach read as GET /v1/policies/{id}/reach reads it; its absence must not take the page down. */
  async function reachOf(req: FastifyRequest, policyId: number) {
    try {
      return await policyReachAnswer(db, policyId);
    } catch (err) {
      req.log.warn({ err: safeError(err), policyId }, 'reach counters unavailable');
      return null;
    }
  }

  async function progressOf(policyId: number) {
    const push = await latestPush(db, policyId);
    return push ? pushProgress(db, push) : null;
  }

  async function load(req: FastifyRequest, policy: Policy): Promise<PolicyView> {
    const [department] = await db
      .select({ nameZh: departments.nameZh, nameEn: departments.nameEn })
      .from(departments)
      .where(eq(departments.id, policy.departmentId));
    const progress = await progressOf(policy.id);
    const reach = await reachOf(req, policy.id);
    const gaps = await reachGapsPage(db, policyScope(policy.id), { limit: GAPS_SHOWN, full: user(req).role === 'admin' });
    return {
      policy,
      department: department ?? null,
      progress,
      reach,
      timeline: await timelineOf(db, policy),
      gaps: gaps.items,
      moreGaps: gaps.nextCursor !== null,
      versions: await policyVersions(db, policy.id),
    };
  }

  const DONE: Record<string, [string, string]> = {
    amend: ['已保存修改。', 'The changes are saved.'],
    revoke: ['已撤回。', 'The policy is revoked.'],
    cancel: ['已取消发布。', 'The publish is cancelled.'],
    push: ['已开始再次推送。', 'The push has started again.'],
  };

  app.get('/ops/policies/:id', hide, async (req, reply) => {
    const policy = await policyOf(req);
    if (!policy) return notFoundPage(req, reply);
    const done = (req.query as { done?: string }).done;
    return replyWithPage(reply, policyPage(await load(req, policy), user(req), csrf(req), undefined, done ? DONE[done] : undefined));
  });

  app.get('/ops/policies/:id/live', hide, async (req, reply) => {
    const policy = await policyOf(req);
    if (!policy) return reply.code(404).send({ error: { code: 'not_found', message: 'policy not found', fields: [] } });
    const [progress, reach, timeline] = [await progressOf(policy.id), await reachOf(req, policy.id), await timelineOf(db, policy)];
    return reply.send(liveNumbers({ progress, reach, timeline }));
  });

  // -------------------------------------------------------------------------------------------
  // Actions: the API's service functions, audited the same way; a refusal shows the page again
  // with the API's field problems beside the fields and what was typed.

  async function act(
    req: FastifyRequest,
    reply: FastifyReply,
    action: ActionForm['action'],
    run: (policy: Policy, form: FormValues) => Promise<ActionForm | null>,
  ) {
    const policy = await policyOf(req);
    if (!policy) return notFoundPage(req, reply);
    const u = user(req);
    // A test key may change only policies published with a test key (plugins/authorize.ts).
    if (u.mode === 'test' && !policy.test)
      return fail(
        req,
        reply,
        403,
        'live_policy',
        '测试密钥只能修改用测试密钥发布的政策。',
        'A test key may change only policies published with a test key.',
      );
    const form = (req.body ?? {}) as FormValues;
    let again: ActionForm | null;
    let status = 200;
    try {
      again = await run(policy, form);
    } catch (err) {
      if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
      if (err.statusCode === 404) return notFoundPage(req, reply);
      status = err.statusCode;
      again = { action, values: form, problems: err.fields.length ? err.fields : [{ path: 'form', code: err.code }] };
    }
    if (!again) return reply.redirect(`/ops/policies/${policy.id}?done=${action}`, 303);
    if (again.problems.length && status === 200) status = 422;
    const fresh = (await getPolicy(db, policy.id)) ?? policy;
    return replyWithPage(reply, policyPage(await load(req, fresh), u, csrf(req), again), status);
  }

  const by = (req: FastifyRequest) => ({ apiKeyId: user(req).keyId, ip: req.ip });

  app.post('/ops/policies/:id/amend', hide, async (req, reply) =>
    act(req, reply, 'amend', async (policy, form) => {
      const { body, problems } = amendmentFrom(policy, form);
      if (problems.length) return { action: 'amend', values: form, problems };
      await amendOrEditPolicy(db, policy.id, body, by(req), limitCheck, dispatcher.reminderMaxSteps);
      return null;
    }),
  );

  app.post('/ops/policies/:id/revoke', hide, async (req, reply) =>
    act(req, reply, 'revoke', async (policy, form) => {
      const body = { reason: formValue(form, 'reason').trim(), notifyRecipients: formValue(form, 'notifyRecipients') === 'yes' };
      const problems = schemaProblems(Revocation, body);
      if (problems.length) return { action: 'revoke', values: form, problems };
      // Asked once more, with what was typed, before anything is cancelled.
      if (formValue(form, 'confirm') !== 'yes') return { action: 'revoke', values: form, problems: [], confirming: true };
      await revokePublishedPolicy(db, policy.id, body, by(req));
      return null;
    }),
  );

  app.post('/ops/policies/:id/cancel', hide, async (req, reply) =>
    act(req, reply, 'cancel', async (policy, form) => {
      if (formValue(form, 'confirm') !== 'yes') return { action: 'cancel', values: form, problems: [], confirming: true };
      await cancelScheduledPolicy(db, policy.id, by(req));
      return null;
    }),
  );

  app.post('/ops/policies/:id/push', hide, async (req, reply) =>
    act(req, reply, 'push', async (policy) => {
      await pushPolicyAgain(db, policy.id, by(req), limitCheck);
      return null;
    }),
  );
}

/**
 * The PATCH body the amend form describes: only the fields that differ from the policy as it is
 * (the form starts filled with it), checked against the API's PolicyAmendment schema.
 */
export function amendmentFrom(policy: Policy, form: FormValues): { body: Amendment; problems: FieldProblem[] } {
  const now = currentValues(policy);
  const body: Record<string, unknown> = {};
  const problems: FieldProblem[] = [];
  // A field the form did not send is left as it is.
  const changed = (name: string) => form[name] !== undefined && formValue(form, name).trim() !== formValue(now, name).trim();
  for (const name of ['title', 'summary', 'url']) if (changed(name)) body[name] = formValue(form, name).trim();
  for (const name of ['titleEn', 'summaryEn']) if (changed(name)) body[name] = formValue(form, name).trim() || null;
  const urls = formValues(form, 'interpretationUrls')
    .map((u) => u.trim())
    .filter(Boolean);
  if (form.interpretationUrls !== undefined && urls.join('\n') !== policy.interpretationUrls.join('\n')) body.interpretationUrls = urls;
  for (const name of policy.status === 'scheduled' ? ['validUntil', 'publishAt'] : ['validUntil']) {
    if (!changed(name)) continue;
    const at = fromLocalTime(formValue(form, name).trim());
    if (at === null) problems.push({ path: name, code: 'format' });
    else if (at === undefined) {
      if (name === 'validUntil') body.validUntil = null;
    } else body[name] = at;
  }
  if (problems.length) return { body: body as Amendment, problems };
  if (!Object.keys(body).length) return { body: body as Amendment, problems: [{ path: 'form', code: 'nothing_changed' }] };
  return { body: body as Amendment, problems: schemaProblems(PolicyAmendment, body) };
}

/**
 * Cumulative reached and engaged by hour, from reach_timeline (kept by the reach refresher with the
 * other counters, so its last values are the funnel's).
 */
async function timelineOf(db: Database, policy: Policy): Promise<TimelinePoint[]> {
  const buckets = await getReachTimeline(db, policy.id, { bucket: 'hour' });
  if (!buckets.length) return [];
  // Each total as it stood at its hour's end, from zero at the publish (or the first hour's start).
  const points = buckets.map((b) => ({
    at: new Date(Date.parse(b.at) + 3_600_000),
    reached: b.cumulativeReached,
    engaged: b.cumulativeEngaged,
  }));
  const first = new Date(Math.min(policy.publishAt.getTime(), Date.parse(buckets[0].at)));
  return [{ at: first, reached: 0, engaged: 0 }, ...points];
}
