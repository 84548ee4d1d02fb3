// The authorisation matrix (issue 6, "Hostile input"): every /v1 route × every kind of caller gets
// exactly the status plugins/authorize.ts promises. The routes are read from the app itself, so a
// new route without an entry here fails this test. A scoped key never reads or changes another
// scope's rows: by id (404), by an id in a body (the 422 of a missing one) or by a filter (nothing).
import { generateCreditCode } from '@policy-push/core';
import { fanOutNextChunk, rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, policyBody, type TestApp } from './helpers';

type Who = 'none' | 'revoked' | 'admin' | 'publisherA' | 'publisherB' | 'ops' | 'enterpriseX' | 'enterpriseY';
const EVERYONE: Who[] = ['none', 'revoked', 'admin', 'publisherA', 'publisherB', 'ops', 'enterpriseX', 'enterpriseY'];

/** all: every key of the role; scoped: publisher A and enterprise X only (the rows asked for are theirs). */
type Grant = 'all' | 'scoped';

interface Req {
  url: string;
  payload?: unknown;
  csv?: string;
}

interface Case {
  /** What an admin gets, and a key of a role the route is for. */
  ok: number;
  publisher?: Grant;
  enterprise?: Grant;
  ops?: true;
  /** What a key of another scope gets: 404 unless said; 422 for an id in a body; 'empty' for a list. */
  outOfScope?: number | 'empty';
  /** Builds the request; called once per caller, so a destructive case makes its own fresh row. */
  req: () => Promise<Req>;
}

function expected(c: Case, who: Who): number | 'empty' {
  if (who === 'none' || who === 'revoked') return 401;
  if (who === 'admin') return c.ok;
  if (who === 'ops') return c.ops ? c.ok : 403;
  const grant = who.startsWith('publisher') ? c.publisher : c.enterprise;
  if (!grant) return 403;
  if (grant === 'all' || who === 'publisherA' || who === 'enterpriseX') return c.ok;
  return c.outOfScope ?? 404;
}

/** "GET /v1/x/:id" for every route printRoutes shows under /v1 (HEAD aside). */
function routesOf(printed: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of printed.split('\n')) {
    const m = line.match(/^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?/);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2];
    stack.push(path);
    for (const method of m[3]?.split(', ') ?? []) if (method !== 'HEAD' && path.startsWith('/v1/')) out.push(`${method} ${path}`);
  }
  return out.sort();
}

describe('authorisation matrix', () => {
  let h: TestApp;
  const keys = {} as Record<Who, Record<string, string>>;
  const w = {} as Record<string, string>;
  const opsBodies: string[] = [];
  let seed = 7_000;
  const creditCode = () => generateCreditCode(() => (seed = (seed * 16807) % 2147483647) / 2147483647);
  const n = () => `${Date.now().toString(36)}${(seed++).toString(36)}`;

  // Fresh rows for cases that delete or end what they act on, always on the A / X side.
  const fresh = {
    department: async () =>
      (await call(h, 'POST', '/v1/departments', { code: `d-${n()}`, nameZh: '临时局', nameEn: 'Temp', smsSignature: '临时' }, 201)).id,
    category: async () => (await call(h, 'POST', '/v1/categories', { code: `c-${n()}`, nameZh: '临时类', nameEn: 'Temp' }, 201)).id,
    enterprise: async () =>
      (
        await call(
          h,
          'POST',
          '/v1/enterprises',
          { creditCode: creditCode(), name: `临时企业${n()}`, industry: { section: 'C' }, district: '440106', size: 'small', tags: [] },
          201,
        )
      ).id,
    contact: async () => (await call(h, 'POST', `/v1/enterprises/${w.X}/contacts`, { email: `fresh-${n()}@example.org` }, 201)).id,
    subscription: async () => (await call(h, 'POST', '/v1/subscriptions', { enterpriseId: w.X, categoryIds: [w.catC] }, 201)).id,
    group: async (members: string[] = []) => {
      const g = await call(h, 'POST', '/v1/service-groups', { departmentId: w.A, name: `临时群组${n()}` }, 201);
      if (members.length) await call(h, 'PUT', `/v1/service-groups/${g.id}/members`, { enterpriseIds: members }, 200);
      return g.id;
    },
    policy: async (extra: Record<string, unknown> = {}) =>
      (await call(h, 'POST', '/v1/policies', policyBody(w.A, w.catC, extra), 202)).policy.id,
    key: async () => (await call(h, 'POST', '/v1/api-keys', { name: `temp ${n()}`, role: 'ops' }, 201)).id,
  };

  const cases: Record<string, Case> = {
    'POST /v1/departments': {
      ok: 201,
      req: async () => ({ url: '/v1/departments', payload: { code: `d-${n()}`, nameZh: '新局', nameEn: 'New', smsSignature: '新局' } }),
    },
    'GET /v1/departments': { ok: 200, publisher: 'all', enterprise: 'all', ops: true, req: async () => ({ url: '/v1/departments' }) },
    'GET /v1/departments/:id': {
      ok: 200,
      publisher: 'all',
      enterprise: 'all',
      ops: true,
      req: async () => ({ url: `/v1/departments/${w.A}` }),
    },
    'PATCH /v1/departments/:id': { ok: 200, req: async () => ({ url: `/v1/departments/${w.A}`, payload: { nameEn: 'Bureau A' } }) },
    'DELETE /v1/departments/:id': { ok: 204, req: async () => ({ url: `/v1/departments/${await fresh.department()}` }) },

    'POST /v1/categories': {
      ok: 201,
      req: async () => ({ url: '/v1/categories', payload: { code: `c-${n()}`, nameZh: '新类', nameEn: 'New' } }),
    },
    'GET /v1/categories': { ok: 200, publisher: 'all', enterprise: 'all', ops: true, req: async () => ({ url: '/v1/categories' }) },
    'GET /v1/categories/:id': {
      ok: 200,
      publisher: 'all',
      enterprise: 'all',
      ops: true,
      req: async () => ({ url: `/v1/categories/${w.catC}` }),
    },
    'PATCH /v1/categories/:id': { ok: 200, req: async () => ({ url: `/v1/categories/${w.catC}`, payload: { nameEn: 'Topic C' } }) },
    'DELETE /v1/categories/:id': { ok: 204, req: async () => ({ url: `/v1/categories/${await fresh.category()}` }) },

    'POST /v1/enterprises': {
      ok: 201,
      req: async () => ({
        url: '/v1/enterprises',
        payload: {
          creditCode: creditCode(),
          name: `新企业${n()}`,
          industry: { section: 'C' },
          district: '440106',
          size: 'small',
          tags: [],
        },
      }),
    },
    'GET /v1/enterprises': { ok: 200, ops: true, req: async () => ({ url: '/v1/enterprises' }) },
    'GET /v1/enterprises/:id': { ok: 200, ops: true, enterprise: 'scoped', req: async () => ({ url: `/v1/enterprises/${w.X}` }) },
    'PATCH /v1/enterprises/:id': {
      ok: 200,
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/enterprises/${w.X}`, payload: { tags: ['t'] } }),
    },
    'DELETE /v1/enterprises/:id': { ok: 204, req: async () => ({ url: `/v1/enterprises/${await fresh.enterprise()}` }) },
    'POST /v1/enterprises/import': {
      ok: 200,
      req: async () => ({
        url: '/v1/enterprises/import',
        csv: `credit_code,name,industry_section,district,size\n${creditCode()},导入企业,C,440106,small\n`,
      }),
    },

    'POST /v1/enterprises/:id/contacts': {
      ok: 201,
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/enterprises/${w.X}/contacts`, payload: { email: `new-${n()}@example.org` } }),
    },
    'GET /v1/enterprises/:id/contacts': {
      ok: 200,
      ops: true,
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/enterprises/${w.X}/contacts` }),
    },
    'GET /v1/contacts/:id': { ok: 200, ops: true, enterprise: 'scoped', req: async () => ({ url: `/v1/contacts/${w.cX}` }) },
    'PATCH /v1/contacts/:id': {
      ok: 200,
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/contacts/${w.cX}`, payload: { name: '小明' } }),
    },
    'DELETE /v1/contacts/:id': { ok: 204, enterprise: 'scoped', req: async () => ({ url: `/v1/contacts/${await fresh.contact()}` }) },
    'POST /v1/contacts/:id/erase': { ok: 200, req: async () => ({ url: `/v1/contacts/${await fresh.contact()}/erase` }) },
    'DELETE /v1/enterprises/:id/personal-data': {
      ok: 200,
      req: async () => ({ url: `/v1/enterprises/${await fresh.enterprise()}/personal-data` }),
    },
    'POST /v1/contacts/:id/email-confirmation': {
      ok: 202,
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/contacts/${await fresh.contact()}/email-confirmation` }),
    },
    // WeChat is not configured here: whoever may ask hears 409 wechat_not_configured.
    'POST /v1/contacts/:id/wechat-binding': {
      ok: 409,
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/contacts/${w.cX}/wechat-binding` }),
    },

    'POST /v1/subscriptions': {
      ok: 201,
      enterprise: 'scoped',
      outOfScope: 422,
      req: async () => ({ url: '/v1/subscriptions', payload: { enterpriseId: w.X, categoryIds: [w.catC] } }),
    },
    'GET /v1/subscriptions': {
      ok: 200,
      ops: true,
      enterprise: 'scoped',
      outOfScope: 'empty',
      req: async () => ({ url: `/v1/subscriptions?enterpriseId=${w.X}` }),
    },
    'GET /v1/subscriptions/:id': { ok: 200, ops: true, enterprise: 'scoped', req: async () => ({ url: `/v1/subscriptions/${w.sX}` }) },
    'PATCH /v1/subscriptions/:id': {
      ok: 200,
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/subscriptions/${w.sX}`, payload: { frequency: 'immediate' } }),
    },
    'DELETE /v1/subscriptions/:id': {
      ok: 204,
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/subscriptions/${await fresh.subscription()}` }),
    },

    'POST /v1/service-groups': {
      ok: 201,
      publisher: 'scoped',
      outOfScope: 422,
      req: async () => ({ url: '/v1/service-groups', payload: { departmentId: w.A, name: `群组${n()}` } }),
    },
    'GET /v1/service-groups': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      outOfScope: 'empty',
      req: async () => ({ url: `/v1/service-groups?departmentId=${w.A}` }),
    },
    'GET /v1/service-groups/:id': { ok: 200, ops: true, publisher: 'scoped', req: async () => ({ url: `/v1/service-groups/${w.gA}` }) },
    'PATCH /v1/service-groups/:id': {
      ok: 200,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/service-groups/${w.gA}`, payload: { description: '静态名单' } }),
    },
    'DELETE /v1/service-groups/:id': {
      ok: 204,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/service-groups/${await fresh.group()}` }),
    },
    'GET /v1/service-groups/:id/members': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/service-groups/${w.gA}/members` }),
    },
    'PUT /v1/service-groups/:id/members': {
      ok: 200,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/service-groups/${w.gA}/members`, payload: { enterpriseIds: [w.X] } }),
    },
    'POST /v1/service-groups/:id/members': {
      ok: 200,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/service-groups/${w.gA}/members`, payload: { enterpriseIds: [w.X] } }),
    },
    'DELETE /v1/service-groups/:id/members/:enterpriseId': {
      ok: 204,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/service-groups/${await fresh.group([w.X])}/members/${w.X}` }),
    },
    'PUT /v1/service-groups/:id/members/import': {
      ok: 200,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/service-groups/${w.gA}/members/import`, csv: `credit_code\n${w.creditX}\n` }),
    },
    'GET /v1/service-groups/:id/audience': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/service-groups/${w.gA}/audience` }),
    },

    'POST /v1/policies': {
      ok: 202,
      publisher: 'scoped',
      outOfScope: 422,
      req: async () => ({ url: '/v1/policies', payload: policyBody(w.A, w.catC) }),
    },
    'POST /v1/policies/preview': {
      ok: 200,
      publisher: 'scoped',
      outOfScope: 422,
      req: async () => ({ url: '/v1/policies/preview', payload: policyBody(w.A, w.catC) }),
    },
    'GET /v1/policies': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      outOfScope: 'empty',
      req: async () => ({ url: `/v1/policies?departmentId=${w.A}` }),
    },
    // An enterprise may read the policies it was sent: X got pA, Y did not.
    'GET /v1/policies/:id': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/policies/${w.pA}` }),
    },
    'GET /v1/policies/:id/versions': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/policies/${w.pA}/versions` }),
    },
    'GET /v1/policies/:id/versions/:version': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/policies/${w.pA}/versions/1` }),
    },
    'GET /v1/policies/:id/push': { ok: 200, ops: true, publisher: 'scoped', req: async () => ({ url: `/v1/policies/${w.pA}/push` }) },
    'POST /v1/policies/:id/push': { ok: 202, publisher: 'scoped', req: async () => ({ url: `/v1/policies/${w.pA}/push` }) },
    'PATCH /v1/policies/:id': {
      ok: 200,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/policies/${await fresh.policy()}`, payload: { url: 'https://policy.example.gov.cn/2020/004-v2' } }),
    },
    'POST /v1/policies/:id/revoke': {
      ok: 200,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/policies/${await fresh.policy()}/revoke`, payload: { reason: '依据已废止' } }),
    },
    'POST /v1/policies/:id/cancel': {
      ok: 200,
      publisher: 'scoped',
      req: async () => ({
        url: `/v1/policies/${await fresh.policy({ publishAt: new Date(Date.now() + 86_400_000).toISOString() })}/cancel`,
      }),
    },
    'GET /v1/policies/:id/reach': { ok: 200, ops: true, publisher: 'scoped', req: async () => ({ url: `/v1/policies/${w.pA}/reach` }) },
    'GET /v1/reports/reach': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      outOfScope: 422,
      req: async () => ({ url: `/v1/reports/reach?departmentId=${w.A}` }),
    },
    'GET /v1/policies/:id/reach/timeline': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/policies/${w.pA}/reach/timeline?bucket=hour` }),
    },
    'GET /v1/policies/:id/reach/gaps': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      req: async () => ({ url: `/v1/policies/${w.pA}/reach/gaps` }),
    },
    'GET /v1/reports/reach/gaps': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      outOfScope: 422,
      req: async () => ({ url: `/v1/reports/reach/gaps?departmentId=${w.A}` }),
    },

    'GET /v1/deliveries': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      enterprise: 'scoped',
      outOfScope: 'empty',
      req: async () => ({ url: `/v1/deliveries?policyId=${w.pA}&enterpriseId=${w.X}` }),
    },
    'GET /v1/deliveries/export': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      enterprise: 'scoped',
      outOfScope: 'empty',
      req: async () => ({ url: `/v1/deliveries/export?policyId=${w.pA}&enterpriseId=${w.X}` }),
    },
    'GET /v1/deliveries/:id': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/deliveries/${w.dX}` }),
    },
    'GET /v1/deliveries/:id/message': {
      ok: 200,
      ops: true,
      publisher: 'scoped',
      enterprise: 'scoped',
      req: async () => ({ url: `/v1/deliveries/${w.dX}/message` }),
    },
    'POST /v1/deliveries/retry': { ok: 200, ops: true, req: async () => ({ url: '/v1/deliveries/retry', payload: { policyId: w.pA } }) },

    'POST /v1/api-keys': { ok: 201, req: async () => ({ url: '/v1/api-keys', payload: { name: `k ${n()}`, role: 'ops' } }) },
    'GET /v1/api-keys': { ok: 200, req: async () => ({ url: '/v1/api-keys' }) },
    'POST /v1/api-keys/:id/rotate': { ok: 200, req: async () => ({ url: `/v1/api-keys/${await fresh.key()}/rotate` }) },
    'POST /v1/api-keys/:id/revoke': { ok: 200, req: async () => ({ url: `/v1/api-keys/${await fresh.key()}/revoke` }) },
    'GET /v1/audit': { ok: 200, req: async () => ({ url: '/v1/audit' }) },
  };

  // Every write route leaves an audit row saying what it did (issue 12); one that writes nothing
  // is listed with the reason.
  const AUDITED: Record<string, string | { exempt: string }> = {
    'POST /v1/departments': 'department.create',
    'PATCH /v1/departments/:id': 'department.update',
    'DELETE /v1/departments/:id': 'department.delete',
    'POST /v1/categories': 'category.create',
    'PATCH /v1/categories/:id': 'category.update',
    'DELETE /v1/categories/:id': 'category.delete',
    'POST /v1/enterprises': 'enterprise.create',
    'PATCH /v1/enterprises/:id': 'enterprise.update',
    'DELETE /v1/enterprises/:id': 'enterprise.delete',
    'POST /v1/enterprises/import': 'enterprises.import',
    'POST /v1/enterprises/:id/contacts': 'contact.create',
    'PATCH /v1/contacts/:id': 'contact.update',
    'DELETE /v1/contacts/:id': 'contact.delete',
    'POST /v1/contacts/:id/erase': 'contact.erase',
    'DELETE /v1/enterprises/:id/personal-data': 'enterprise.erase_personal_data',
    'POST /v1/contacts/:id/email-confirmation': 'contact.email_confirmation',
    'POST /v1/contacts/:id/wechat-binding': {
      exempt: 'answers a signed QR code and link, writing nothing; the binding is the recipient’s act, audited as theirs',
    },
    'POST /v1/subscriptions': 'subscription.create',
    'PATCH /v1/subscriptions/:id': 'subscription.update',
    'DELETE /v1/subscriptions/:id': 'subscription.delete',
    'POST /v1/service-groups': 'service_group.create',
    'PATCH /v1/service-groups/:id': 'service_group.update',
    'DELETE /v1/service-groups/:id': 'service_group.delete',
    'PUT /v1/service-groups/:id/members': 'service_group.members_set',
    'POST /v1/service-groups/:id/members': 'service_group.members_add',
    'DELETE /v1/service-groups/:id/members/:enterpriseId': 'service_group.member_remove',
    'PUT /v1/service-groups/:id/members/import': 'service_group.members_import',
    'POST /v1/policies': 'policy.publish',
    'POST /v1/policies/preview': { exempt: 'a dry run: answers who a policy would reach and writes nothing' },
    'POST /v1/policies/:id/push': 'policy.push',
    'PATCH /v1/policies/:id': 'policy.amend',
    'POST /v1/policies/:id/revoke': 'policy.revoke',
    'POST /v1/policies/:id/cancel': 'policy.cancel',
    'POST /v1/deliveries/retry': 'deliveries.retry',
    'POST /v1/api-keys': 'api_key.create',
    'POST /v1/api-keys/:id/rotate': 'api_key.rotate',
    'POST /v1/api-keys/:id/revoke': 'api_key.revoke',
  };
  const writeRoutes = () => Object.keys(cases).filter((r) => !r.startsWith('GET '));

  beforeAll(async () => {
    h = await buildTestApp();
    w.A = await fresh.department();
    w.B = await fresh.department();
    w.catC = await fresh.category();
    w.catD = await fresh.category();
    w.creditX = creditCode();
    const enterprise = async (credit: string) =>
      (
        await call(
          h,
          'POST',
          '/v1/enterprises',
          { creditCode: credit, name: `企业${n()}`, industry: { section: 'C' }, district: '440106', size: 'small', tags: [] },
          201,
        )
      ).id;
    w.X = await enterprise(w.creditX);
    w.Y = await enterprise(creditCode());
    w.cX = (
      await call(
        h,
        'POST',
        `/v1/enterprises/${w.X}/contacts`,
        { phone: '+8613812345678', email: 'xiaoming@example.com', channels: ['sms'] },
        201,
      )
    ).id;
    await call(h, 'POST', `/v1/enterprises/${w.Y}/contacts`, { phone: '+8613912345678', email: 'yy@example.com', channels: ['sms'] }, 201);
    // X follows topic C (department A's policy), Y topic D (department B's).
    w.sX = (await call(h, 'POST', '/v1/subscriptions', { enterpriseId: w.X, categoryIds: [w.catC] }, 201)).id;
    await call(h, 'POST', '/v1/subscriptions', { enterpriseId: w.Y, categoryIds: [w.catD] }, 201);
    w.gA = (await call(h, 'POST', '/v1/service-groups', { departmentId: w.A, name: '甲局名单' }, 201)).id;
    w.gB = (await call(h, 'POST', '/v1/service-groups', { departmentId: w.B, name: '乙局名单' }, 201)).id;
    w.pA = (await call(h, 'POST', '/v1/policies', policyBody(w.A, w.catC), 202)).policy.id;
    w.pB = (await call(h, 'POST', '/v1/policies', policyBody(w.B, w.catD), 202)).policy.id;
    // The deliveries the dispatcher would make (pA → X, pB → Y), without sending them.
    while (await fanOutNextChunk(h.t.db, 1000));
    const [dX] = rowsOf<{ id: string }>(await h.t.db.execute(sql`select id::text from deliveries where policy_id = ${Number(w.pA)}`));
    w.dX = dX.id;

    keys.none = {};
    keys.admin = h.auth;
    keys.publisherA = await keyHeaders(h, { role: 'publisher', departmentIds: [Number(w.A)] });
    keys.publisherB = await keyHeaders(h, { role: 'publisher', departmentIds: [Number(w.B)] });
    keys.ops = await keyHeaders(h, { role: 'ops' });
    keys.enterpriseX = await keyHeaders(h, { role: 'enterprise', enterpriseId: Number(w.X) });
    keys.enterpriseY = await keyHeaders(h, { role: 'enterprise', enterpriseId: Number(w.Y) });
    keys.revoked = await keyHeaders(h, { role: 'publisher', departmentIds: [Number(w.A)] });
    const [revoked] = rowsOf<{ id: string }>(await h.t.db.execute(sql`select max(id)::text as id from api_keys`));
    await call(h, 'POST', `/v1/api-keys/${revoked.id}/revoke`, undefined, 200);
  }, 120_000);
  afterAll(() => h.close());

  it('has an entry for every /v1 route the app registers, and none for a route it does not', () => {
    expect(Object.keys(cases).sort()).toEqual(routesOf(h.app.printRoutes({ commonPrefix: false })));
  });

  it.each(Object.keys(cases))('%s answers each caller exactly as its role and scope allow', async (route) => {
    const c = cases[route];
    const method = route.split(' ')[0] as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    const seen: Record<string, unknown> = {};
    const want: Record<string, unknown> = {};
    for (const who of EVERYONE) {
      const r = await c.req();
      const res = await h.app.inject({
        method,
        url: r.url,
        headers: { ...keys[who], ...(r.csv !== undefined && { 'content-type': 'text/csv' }) },
        payload: r.csv ?? (r.payload as object | undefined),
      });
      const expect_ = expected(c, who);
      want[who] = expect_ === 'empty' ? '200 empty' : expect_;
      seen[who] = res.statusCode;
      if (expect_ === 'empty' && res.statusCode === 200) {
        const rows = r.url.includes('/export') ? res.body.split('\n').filter(Boolean).length - 1 : res.json().items.length;
        seen[who] = rows === 0 ? '200 empty' : `200 with ${rows} rows`;
      }
      // A scoped key in its own scope sees its rows: the filters above name them.
      if (expect_ === 200 && (who === 'publisherA' || who === 'enterpriseX') && c.outOfScope === 'empty' && !r.url.includes('/export')) {
        expect(res.json().items.length, `${route} as ${who}`).toBeGreaterThan(0);
      }
      if (res.statusCode >= 400) expect(res.json().error.code, `${route} as ${who}: ${res.body}`).toBeTypeOf('string');
      if (who === 'ops') opsBodies.push(res.body);
    }
    expect(seen).toEqual(want);
  });

  it('never shows ops a whole phone number or email, in any answer', async () => {
    for (const url of [
      `/v1/contacts/${w.cX}`,
      `/v1/enterprises/${w.X}/contacts`,
      `/v1/deliveries/${w.dX}`,
      `/v1/deliveries/${w.dX}/message`,
    ]) {
      const res = await h.app.inject({ method: 'GET', url, headers: keys.ops });
      expect(res.statusCode).toBe(200);
      opsBodies.push(res.body);
    }
    const contact = (await h.app.inject({ method: 'GET', url: `/v1/contacts/${w.cX}`, headers: keys.ops })).json();
    expect(contact.phone).toBe('+86138****5678');
    expect(contact.email).toBe('x***@example.com');
    const all = opsBodies.join('\n');
    expect(all).toContain('138****5678');
    // No mainland mobile in full, and no email with more than its first character.
    expect(all).not.toMatch(/(?<!\d)1[3-9]\d{9}(?!\d)/);
    expect(all).not.toMatch(/[A-Za-z0-9._%+-]{2,}@[a-z0-9.-]+\.[a-z]{2,}/i);
    // The admin sees them whole.
    expect((await call(h, 'GET', `/v1/contacts/${w.cX}`)).phone).toBe('+8613812345678');
  });

  it('names, for every route that is not a GET, the audit action it writes or why it writes none', () => {
    expect(Object.keys(AUDITED).sort()).toEqual(writeRoutes().sort());
  });

  it.each(writeRoutes())('%s leaves its audit row: the admin key, the action, the subject, no address', async (route) => {
    const want = AUDITED[route];
    if (typeof want !== 'string') return; // exempt: the reason is in AUDITED
    const c = cases[route];
    const r = await c.req();
    const [{ last }] = rowsOf<{ last: string }>(await h.t.db.execute(sql`select coalesce(max(id), 0)::text as last from audit_log`));
    const res = await h.app.inject({
      method: route.split(' ')[0] as 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      url: r.url,
      headers: { ...h.auth, ...(r.csv !== undefined && { 'content-type': 'text/csv' }) },
      payload: r.csv ?? (r.payload as object | undefined),
    });
    expect(res.statusCode, res.body).toBe(c.ok);
    const rows = rowsOf<{ actor: string; api_key_id: string; action: string; subject_id: string | null; details: unknown; ip: string }>(
      await h.t.db.execute(
        sql`select actor, api_key_id::text, action, subject_id, details, ip from audit_log where id > ${Number(last)} order by id`,
      ),
    );
    const [admin] = rowsOf<{ id: string }>(await h.t.db.execute(sql`select id::text from api_keys where name = 'test admin'`));
    expect(rows.map((a) => a.action)).toContain(want);
    const row = rows.find((a) => a.action === want)!;
    expect(row).toMatchObject({ actor: 'key', api_key_id: admin.id, ip: '127.0.0.1' });
    // The subject is the row acted on: the id in the path, or the one the answer names.
    const pathId = r.url.match(/^\/v1\/[a-z-]+\/(\d+)/)?.[1];
    const answerId = res.body ? (res.json().id ?? res.json().policy?.id) : undefined;
    if (pathId || answerId) expect([pathId, answerId]).toContain(row.subject_id);
    const text = JSON.stringify(rows);
    expect(text).not.toMatch(/(?<!\d)1[3-9]\d{9}(?!\d)/);
    expect(text).not.toMatch(/[A-Za-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}/i);
  });

  it("gives a scoped key's unfiltered lists only its own rows", async () => {
    const get = async (who: Who, url: string) => {
      const res = await h.app.inject({ method: 'GET', url, headers: keys[who] });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().items as Record<string, string>[];
    };
    const policies = await get('publisherB', '/v1/policies');
    expect(policies.map((p) => p.departmentId)).toEqual(policies.map(() => w.B));
    expect(policies.map((p) => p.id)).toContain(w.pB);
    expect((await get('publisherB', '/v1/service-groups')).map((g) => g.id)).toEqual([w.gB]);
    expect((await get('publisherB', '/v1/deliveries')).every((d) => d.policyId === w.pB)).toBe(true);
    expect((await get('enterpriseY', '/v1/subscriptions')).every((s) => s.enterpriseId === w.Y)).toBe(true);
    expect((await get('enterpriseY', '/v1/deliveries')).map((d) => d.enterpriseId)).toEqual([w.Y]);
    // A publisher's report covers its own departments only.
    const report = (await h.app.inject({ method: 'GET', url: '/v1/reports/reach', headers: keys.publisherB })).json();
    expect(report.byDepartment.every((d: { departmentId: string }) => d.departmentId === w.B)).toBe(true);
  });

  it("refuses a publisher's policy aimed at another department's service group as if the group did not exist", async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: keys.publisherA,
      payload: policyBody(w.A, w.catC, { audience: { groupIds: [w.gA, w.gB] } }),
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.fields).toEqual([{ path: 'audience.groupIds.1', code: 'unknown_group' }]);
  });
});
