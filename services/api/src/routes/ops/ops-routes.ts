// The ops console (issue 5, "The console"): server-rendered pages under /ops, signed in with an
// API key through a form (ops-session.ts). Registered among the public routes because it does its
// own authentication with a cookie instead of the API's Authorization header.
//   GET  /ops/login, POST /ops/login, POST /ops/logout
//   GET  /ops                     overview: alerts, live pushes, queues, throughput, provider health
//   GET  /ops/deliveries…, /ops/enterprises…  the delivery log and enterprises (ops-log-routes.ts)
//   GET  /ops/outbox              what the sandbox would have sent
//   GET  /ops/compose, POST /ops/compose/preview | /ops/compose/edit | /ops/compose/publish
//   GET  /ops/policies, /ops/policies/:id and its actions   ops-policy-routes.ts
// Every POST carries the session's CSRF token. Each role sees what it may do on /v1
// (CONSOLE_PAGES in ops-session.ts): admins everything; ops the read-only views, with phone numbers
// and emails masked; publishers compose, publish and follow their own departments' policies;
// enterprise keys cannot sign in.
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import { withoutLinkTokens, isChannel } from '@policy-push/core';
import { listCategories, listDepartments, listSandboxMessages, listServiceGroups } from '@policy-push/db';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppInstance } from '../../app';
import { ApiError } from '../../errors';
import { replyWithPage } from '../../plugins/page-headers';
import { authenticate, secretHashOf } from '../../services/api-keys';
import { maskText } from '../../services/mask-contacts';
import { pushProgress, publishPolicy } from '../policies/policies-service';
import { checkPublishLimits } from '../policies/publish-limits';
import { type AudienceCount, type ComposeChoices, composePage, previewPage } from './ops-compose-pages';
import { COMPOSE_COUNT_JS } from './ops-scripts';
import { opsPolicyRoutes } from './ops-policy-routes';
import { errorPage } from './ops-layout';
import { registerLogRoutes } from './ops-log-routes';
import { dashboardPage, loginPage, outboxPage } from './ops-pages';
import { composePreview, countAudience, loadDashboard, type PolicyForm, policyFromForm } from './ops-service';
import {
  type ConsolePage,
  mayOpen,
  pageOf,
  cookieOptions,
  csrfToken,
  endSession,
  LOGIN_COOKIE,
  loginNonce,
  newSession,
  type OpsUser,
  SESSION_COOKIE,
  sameToken,
  sessionUser,
  setSessionCookie,
} from './ops-session';

declare module 'fastify' {
  interface FastifyRequest {
    opsUser: OpsUser | null;
  }
}

const ID = /^[1-9][0-9]{0,14}$/;
const PAGE_SIZE = 50;
const OPEN_PATHS = new Set(['/ops/login']);

export default async function opsRoutes(app: AppInstance) {
  const { db } = app.deps.db;
  const secret = app.deps.signingSecret;
  await app.register(cookie);
  // Form bodies in this scope only; the API speaks JSON.
  await app.register(formbody);
  await app.register(helmet, {
    // Nothing on these pages comes from elsewhere: scripts only from here and never inline (the
    // live numbers and charts, issue 14), styles inline, forms post here.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        styleSrc: ["'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });

  app.decorateRequest('opsUser', null);
  app.addHook('onSend', async (_req, reply) => {
    // Operational data: never kept by a cache.
    reply.header('cache-control', 'no-store');
  });
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (!path.startsWith('/ops') || OPEN_PATHS.has(path)) return;
    req.opsUser = await sessionUser(db, secret, req.cookies[SESSION_COOKIE]);
    if (!req.opsUser) {
      if (req.method === 'GET' || req.method === 'HEAD') return reply.redirect('/ops/login', 303);
      return replyWithPage(reply, errorPage(401, 'unauthorized', '请先登录。', 'Sign in first.'), 401);
    }
    const wanted = pageOf(path);
    if (!wanted || mayOpen(req.opsUser.role, wanted)) return;
    // A publisher's home is its departments' policies, not the operators' overview.
    if (wanted === 'dashboard' && mayOpen(req.opsUser.role, 'policies')) return reply.redirect('/ops/policies', 303);
    return replyWithPage(
      reply,
      errorPage(
        403,
        'forbidden',
        '您的密钥无权查看此页面。',
        'Your key may not open this page.',
        req.opsUser,
        csrfToken(secret, req.opsUser.session),
      ),
      403,
    );
  });
  // Operators never see whom to call: phone numbers and emails on every page they get are masked.
  // Nor may anyone but an admin act as a recipient: the signed links in the messages the outbox and
  // delivery pages show (preferences, unsubscribe, open) reach them without their tokens.
  app.addHook('onSend', async (req, _reply, payload) => {
    const role = req.opsUser?.role;
    if (!role || role === 'admin' || typeof payload !== 'string') return payload;
    const redacted = withoutLinkTokens(payload);
    return role === 'ops' ? maskText(redacted) : redacted;
  });
  // After the body is parsed: every POST of a signed-in page carries the session's token.
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST' || !req.opsUser) return;
    const given = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (!sameToken(given, csrfToken(secret, req.opsUser.session))) {
      return replyWithPage(
        reply,
        errorPage(
          403,
          'csrf',
          '表单已失效或不是从本站提交的，请返回重试。',
          'This form is stale or was not sent from these pages; go back and try again.',
        ),
        403,
      );
    }
  });

  const user = (req: FastifyRequest) => req.opsUser as OpsUser;
  const csrf = (req: FastifyRequest) => csrfToken(secret, user(req).session);
  const hide = { schema: { hide: true } };

  // -------------------------------------------------------------------------------------------
  // Signing in and out

  app.get('/ops/login', hide, async (req, reply) => {
    const nonce = req.cookies[LOGIN_COOKIE] ?? loginNonce();
    reply.setCookie(LOGIN_COOKIE, nonce, cookieOptions(req, 3600));
    return replyWithPage(reply, loginPage(nonce));
  });

  app.post('/ops/login', hide, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const expected = req.cookies[LOGIN_COOKIE];
    if (!sameToken(body._csrf, expected)) {
      const nonce = loginNonce();
      reply.setCookie(LOGIN_COOKIE, nonce, cookieOptions(req, 3600));
      return replyWithPage(
        reply,
        loginPage(nonce, { code: 'csrf', zh: '表单已失效，请重试。', en: 'The form was stale; try again.' }),
        403,
      );
    }
    // Guessing keys: an address past its failed attempts waits before its next one is looked up.
    if (app.failedAttempts.refusal(req, reply)) {
      return replyWithPage(
        reply,
        loginPage(expected!, {
          code: 'rate_limited',
          zh: '失败次数过多，请稍后再试。',
          en: 'Too many failed sign-ins from this address; try again later.',
        }),
        429,
      );
    }
    const identity = typeof body.key === 'string' ? await authenticate(db, body.key.trim()) : null;
    if (identity?.role === 'enterprise') {
      req.log.info({ event: 'ops_sign_in_refused', keyId: identity.id }, 'enterprise key refused at the ops console');
      return replyWithPage(
        reply,
        loginPage(expected!, {
          code: 'enterprise_key',
          zh: '企业密钥不能登录运维台；请通过 API 或消息中的偏好设置链接管理订阅。',
          en: 'Enterprise keys cannot sign in to the console; use the API, or the preferences link in any message.',
        }),
        403,
      );
    }
    if (!identity) {
      app.failedAttempts.failed(req.ip);
      req.log.info({ event: 'ops_sign_in_refused' }, 'ops sign-in refused');
      return replyWithPage(
        reply,
        loginPage(expected!, { code: 'bad_key', zh: 'API 密钥无效或已吊销。', en: 'The API key is unknown or revoked.' }),
        401,
      );
    }
    setSessionCookie(req, reply, await newSession(db, secret, identity.id, secretHashOf(String(body.key).trim())));
    reply.clearCookie(LOGIN_COOKIE, { path: '/ops' });
    req.log.info({ keyId: identity.id }, 'ops signed in');
    return reply.redirect('/ops', 303);
  });

  app.post('/ops/logout', hide, async (req, reply) => {
    await endSession(db, user(req).sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: '/ops' });
    return reply.redirect('/ops/login', 303);
  });

  // -------------------------------------------------------------------------------------------
  // Operators

  app.get('/ops', hide, async (req, reply) => {
    const dashboard = await loadDashboard(app, new Date());
    return replyWithPage(reply, dashboardPage(dashboard, user(req), csrf(req)));
  });

  // The delivery log, one delivery, enterprises and contacts (issue 14): ops-log-routes.ts.
  registerLogRoutes(app, { user, csrf });

  app.get('/ops/outbox', hide, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const channel = q.channel || undefined;
    if ((channel && !isChannel(channel)) || (q.cursor && !ID.test(q.cursor))) {
      return replyWithPage(
        reply,
        errorPage(400, 'invalid_filter', '筛选条件无效。', 'The filter is not valid.', user(req), csrf(req)),
        400,
      );
    }
    const rows = await listSandboxMessages(db, { limit: PAGE_SIZE, channel, before: q.cursor ? Number(q.cursor) : undefined });
    const more = rows.length > PAGE_SIZE;
    const kept = rows.slice(0, PAGE_SIZE);
    return replyWithPage(reply, outboxPage(channel, kept, more ? String(kept.at(-1)!.id) : null, user(req), csrf(req)));
  });

  // -------------------------------------------------------------------------------------------
  // Publishers

  /** A publisher composes for its own departments and their service groups only. */
  const ownDepartments = (u: OpsUser) => (u.role === 'publisher' ? u.departmentIds : undefined);

  async function choices(u: OpsUser): Promise<ComposeChoices> {
    const departmentIds = ownDepartments(u);
    const [departments, categories, groups] = await Promise.all([
      listDepartments(db, { limit: 500 }),
      listCategories(db, { limit: 1000 }),
      listServiceGroups(db, { limit: 500, departmentIds }),
    ]);
    return { departments: departmentIds ? departments.filter((d) => departmentIds.includes(d.id)) : departments, categories, groups };
  }

  async function composeAgain(
    req: FastifyRequest,
    reply: FastifyReply,
    form: PolicyForm,
    status: number,
    problems: ApiError['fields'],
    count?: AudienceCount,
  ) {
    return replyWithPage(reply, composePage(form, await choices(user(req)), problems, user(req), csrf(req), count), status);
  }

  /** Another department's id or group in a publisher's form: refused as if it did not exist. */
  async function outOfScope(u: OpsUser, input: { departmentId: string; audience?: { groupIds?: string[] } }) {
    const departmentIds = ownDepartments(u);
    if (!departmentIds) return [];
    const problems: ApiError['fields'] = [];
    if (!departmentIds.includes(Number(input.departmentId))) problems.push({ path: 'departmentId', code: 'unknown_department' });
    const groupIds = input.audience?.groupIds ?? [];
    if (groupIds.length) {
      const own = new Set((await listServiceGroups(db, { limit: 500, departmentIds })).map((g) => String(g.id)));
      groupIds.forEach((id, i) => own.has(id) || problems.push({ path: `audience.groupIds.${i}`, code: 'unknown_group' }));
    }
    return problems;
  }

  /** An ApiError from the publish checks becomes the form again, with its fields marked. */
  const refusal = (err: unknown) => {
    if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
    return { status: err.statusCode, problems: err.fields.length ? err.fields : [{ path: 'form', code: err.code }] };
  };

  app.get('/ops/compose', hide, async (req, reply) => composeAgain(req, reply, {}, 200, []));

  app.post('/ops/compose/edit', hide, async (req, reply) => composeAgain(req, reply, req.body as PolicyForm, 200, []));

  // The audience count beside the rule builder: a page without script, JSON for its script (issue 14).
  app.post('/ops/compose/count', hide, async (req, reply) => {
    const form = req.body as PolicyForm;
    const json = /application\/json/.test(req.headers.accept ?? '');
    let answer: { problems: ApiError['fields']; count?: AudienceCount };
    try {
      answer = await countAudience(db, app.deps.config, form);
      if (!answer.problems.length) {
        const foreign = await outOfScope(user(req), {
          departmentId: String(form.departmentId ?? ''),
          audience: { groupIds: [form.groupIds ?? []].flat() },
        });
        if (foreign.length) answer = { problems: foreign };
      }
    } catch (err) {
      answer = { problems: refusal(err).problems };
    }
    const status = answer.problems.length ? 422 : 200;
    if (json) return reply.code(status).send(answer.count ? { count: answer.count } : { problems: answer.problems });
    return composeAgain(req, reply, form, status, answer.problems, answer.count);
  });

  app.get('/ops/assets/compose-count.js', hide, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(COMPOSE_COUNT_JS));

  app.post('/ops/compose/preview', hide, async (req, reply) => {
    const form = req.body as PolicyForm;
    const { input, problems } = policyFromForm(form);
    if (problems.length) return composeAgain(req, reply, form, 422, problems);
    const foreign = await outOfScope(user(req), input);
    if (foreign.length) return composeAgain(req, reply, form, 422, foreign);
    try {
      const preview = await composePreview(db, app.deps.config, input);
      return replyWithPage(reply, previewPage(form, preview, user(req), csrf(req), app.deps.config.limits.largeAudienceThreshold));
    } catch (err) {
      const r = refusal(err);
      return composeAgain(req, reply, form, r.status, r.problems);
    }
  });

  app.post('/ops/compose/publish', hide, async (req, reply) => {
    const form = req.body as PolicyForm;
    const { input, problems } = policyFromForm(form);
    if (problems.length) return composeAgain(req, reply, form, 422, problems);
    const foreign = await outOfScope(user(req), input);
    if (foreign.length) return composeAgain(req, reply, form, 422, foreign);
    // A double click posts the same form twice: the same idempotency key answers the first publish.
    const idempotencyKey = `ops:${createHash('sha256')
      .update(`${user(req).session}|${input.departmentId}|${input.docNumber}`)
      .digest('hex')}`;
    try {
      const by = { apiKeyId: user(req).keyId, ip: req.ip, test: user(req).mode === 'test' };
      const answer = await publishPolicy(
        db,
        input,
        by,
        idempotencyKey,
        async (policy, push, tx) => ({ policy: { id: String(policy.id) }, push: await pushProgress(tx, push) }),
        // The daily caps and the large-audience confirmation hold here too (README "Limits").
        (values) =>
          checkPublishLimits(db, values, {
            limits: app.deps.config.limits,
            requireConfirmedEmail: app.deps.config.dispatcher.requireConfirmedEmail,
            confirmLargeAudience: form.confirmLargeAudience === 'yes',
          }),
        app.deps.config.dispatcher.reminderMaxSteps,
      );
      const policyId = (answer.body as { policy: { id: string } }).policy.id;
      req.log.info({ policyId, keyId: user(req).keyId }, 'policy published from the ops console');
      return reply.redirect(`/ops/policies/${policyId}`, 303);
    } catch (err) {
      const r = refusal(err);
      return composeAgain(req, reply, form, r.status, r.problems);
    }
  });

  // The policies list and each policy's page and actions (issue 14).
  await opsPolicyRoutes(app);
}
