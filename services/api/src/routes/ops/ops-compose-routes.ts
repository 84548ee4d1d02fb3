// Composing and publishing from the console (publishers for their own departments, admins):
//   GET  /ops/compose, POST /ops/compose/edit        the form
//   POST /ops/compose/count                          the audience count (a page, or JSON for its script)
//   POST /ops/compose/preview, /ops/compose/publish  who it would reach; publishing it
import { listCategories, listDepartments, listServiceGroups } from '@policy-push/db';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppInstance } from '../../app-instance';
import { ApiError } from '../../errors';
import { pushProgress, publishPolicy } from '../policies/policies-service';
import { checkPublishLimits } from '../policies/publish-limits';
import { type AudienceCount, type ComposeChoices, composePage, previewPage } from './ops-compose-pages';
import { replyWithPage } from '../../plugins/page-headers';
import { opsContext } from './ops-page-context';
import { COMPOSE_COUNT_JS } from './ops-scripts';
import { composePreview, countAudience, type PolicyForm, policyFromForm } from './ops-service';
import type { OpsUser } from './ops-session';

export function registerComposeRoutes(app: AppInstance): void {
  const { db } = app.deps.db;
  const { user, csrf } = opsContext(app);
  const hide = { schema: { hide: true } };

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
}
