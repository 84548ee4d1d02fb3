// The console by role (issue 6): ops sees the read-only pages with addresses masked and cannot
// compose; a publisher composes and publishes for its own departments only; an enterprise key
// cannot sign in.
import type { LightMyRequestResponse } from 'fastify';
import { preferencesLink, signToken, verifyToken } from '@policy-push/core';
import { fanOutNextChunk, rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, opsSignIn, policyBody, seedWorld, type TestApp } from '../../../test/helpers';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const cookieOf = (res: LightMyRequestResponse, name: string) =>
  (res.cookies as { name: string; value: string }[]).find((c) => c.name === name);

describe('/ops by role', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  let other: Awaited<ReturnType<typeof seedWorld>>;
  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [{ phone: '+8613812345678', email: 'xiaoming@example.com', channels: ['sms'] }]);
    other = await seedWorld(h, [{ phone: '+8613912345678' }]);
  });
  afterAll(() => h.close());

  const signIn = (headers: { authorization: string }) => opsSignIn(h, headers.authorization.replace('Bearer ', ''));

  it('refuses an enterprise key at sign-in with a clear message', async () => {
    const key = await keyHeaders(h, { role: 'enterprise', enterpriseId: Number(world.enterprises[0].enterprise.id) });
    const { res } = await signIn(key);
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('data-code="enterprise_key"');
    expect(cookieOf(res, 'pp_ops_session')).toBeUndefined();
  });

  it('gives ops the read-only pages, masked, and no compose', async () => {
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    while (await fanOutNextChunk(h.t.db, 1000));
    const { cookie } = await signIn(await keyHeaders(h, { role: 'ops' }));
    const overview = await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie } });
    expect(overview.statusCode).toBe(200);
    expect(overview.body).toContain('data-role="ops"');
    expect(overview.body).not.toContain('href="/ops/compose"');
    expect(overview.body).not.toMatch(/sees all pages/);
    expect((await h.app.inject({ method: 'GET', url: `/ops/policies/${policy.id}`, headers: { cookie } })).statusCode).toBe(200);
    const deliveries = await h.app.inject({ method: 'GET', url: `/ops/deliveries?policyId=${policy.id}`, headers: { cookie } });
    expect(deliveries.statusCode).toBe(200);
    for (const url of ['/ops/compose']) {
      const res = await h.app.inject({ method: 'GET', url, headers: { cookie } });
      expect([res.statusCode, res.body.includes('data-code="forbidden"')]).toEqual([403, true]);
    }
    const all = [overview.body, deliveries.body].join('\n');
    expect(all).not.toMatch(/(?<!\d)1[3-9]\d{9}(?!\d)/);
  });

  it('shows ops the outbox and delivery pages without a working signed link; admins see them whole (issue 12)', async () => {
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    while (await fanOutNextChunk(h.t.db, 1000));
    const [d] = rowsOf<{ id: string; contact_id: string }>(
      await h.t.db.execute(sql`select id::text, contact_id::text from deliveries where policy_id = ${Number(policy.id)} limit 1`),
    );
    // What the sandbox records of an SMS, with the links the dispatcher puts in it.
    const secret = h.app.deps.signingSecret;
    const later = new Date(Date.now() + 30 * 86_400_000);
    const unsubscribe = `https://push.example.org/u/${signToken(secret, 'unsubscribe', d.id, later)}`;
    const preferences = preferencesLink('https://push.example.org', secret, d.contact_id, new Date());
    const text = `【测试】新政策 详情 https://push.example.org/r/${signToken(secret, 'open', Number(d.id).toString(36), later)} 退订 ${unsubscribe} 设置 ${preferences}`;
    await h.t.db.execute(
      sql`insert into sandbox_messages (delivery_id, channel, recipient, content, outcome) values (${Number(d.id)}, 'sms', '+8613812345678', ${JSON.stringify({ text, segments: 2 })}::jsonb, 'sent')`,
    );
    const tokensIn = (html: string) => [...html.matchAll(/\/([upr])\/([A-Za-z0-9:_.*-]+)/g)].map((m) => ({ path: m[1], token: m[2] }));
    const working = (t: { path: string; token: string }) =>
      verifyToken(secret, { u: 'unsubscribe', p: 'preferences', r: 'open' }[t.path]!, t.token) !== null;

    const ops = await signIn(await keyHeaders(h, { role: 'ops' }));
    const admin = await signIn(h.auth);
    for (const url of ['/ops/outbox', `/ops/deliveries/${d.id}`]) {
      const asOps = await h.app.inject({ method: 'GET', url, headers: { cookie: ops.cookie } });
      expect(asOps.statusCode).toBe(200);
      // The links are still there to read, with nothing in them that works.
      expect(asOps.body).toMatch(/\/u\/\S/);
      expect(tokensIn(asOps.body).filter(working), url).toEqual([]);
      expect(asOps.body).not.toContain(unsubscribe);
      const asAdmin = await h.app.inject({ method: 'GET', url, headers: { cookie: admin.cookie } });
      expect(asAdmin.body).toContain(unsubscribe);
      expect(asAdmin.body).toContain(preferences);
      expect(
        // The sandbox's record and the message rendered again for an admin (issue 14) both carry working links.
        [
          ...new Set(
            tokensIn(asAdmin.body)
              .filter(working)
              .map((t) => t.path),
          ),
        ].sort(),
        url,
      ).toEqual(['p', 'r', 'u']);
    }
  });

  it('masks contact names for ops like addresses (issue 12)', async () => {
    const contactId = world.enterprises[0].contact.id;
    await call(h, 'PATCH', `/v1/contacts/${contactId}`, { name: '王小明' }, 200);
    const ops = await keyHeaders(h, { role: 'ops' });
    const one = await h.app.inject({ method: 'GET', url: `/v1/contacts/${contactId}`, headers: ops });
    expect(one.json().name).toBe('王**');
    const list = await h.app.inject({ method: 'GET', url: `/v1/enterprises/${world.enterprises[0].enterprise.id}/contacts`, headers: ops });
    expect(list.json().items.map((c: { name: string }) => c.name)).toEqual(['王**']);
    expect(list.body).not.toContain('王小明');
    // Enterprise and department names are not a person's: left alone.
    const enterprise = await h.app.inject({ method: 'GET', url: `/v1/enterprises/${world.enterprises[0].enterprise.id}`, headers: ops });
    expect(enterprise.json().name).toBe(world.enterprises[0].enterprise.name);
    expect((await call(h, 'GET', `/v1/contacts/${contactId}`)).name).toBe('王小明');
  });

  it('lets a publisher compose and publish for its departments only, and hides the operators’ pages', async () => {
    const key = await keyHeaders(h, { role: 'publisher', departmentIds: [Number(world.department.id)] });
    const { cookie, csrf } = await signIn(key);
    const home = await h.app.inject({ method: 'GET', url: '/ops', headers: { cookie } });
    expect([home.statusCode, home.headers.location]).toEqual([303, '/ops/policies']);
    const compose = await h.app.inject({ method: 'GET', url: '/ops/compose', headers: { cookie } });
    expect(compose.statusCode).toBe(200);
    expect(compose.body).toContain(`<option value="${world.department.id}">`);
    expect(compose.body).not.toContain(`<option value="${other.department.id}">`);
    expect(compose.body).not.toContain('href="/ops/deliveries"');
    expect((await h.app.inject({ method: 'GET', url: '/ops/deliveries', headers: { cookie } })).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'GET', url: '/ops/outbox', headers: { cookie } })).statusCode).toBe(403);

    const fields = (departmentId: string, categoryId: string) =>
      new URLSearchParams({
        _csrf: csrf,
        departmentId,
        docNumber: `OPS-${Math.random().toString(36).slice(2, 8)}`,
        title: '广州市支持中小企业共渡难关十五条措施',
        summary: '减免租金、延期缴纳社保。',
        url: 'https://policy.example.gov.cn/2020/004',
        categoryIds: categoryId,
      }).toString();
    const foreign = await h.app.inject({
      method: 'POST',
      url: '/ops/compose/publish',
      headers: { ...FORM, cookie },
      payload: fields(other.department.id, other.category.id),
    });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.body).toContain('unknown_department');
    const published = await h.app.inject({
      method: 'POST',
      url: '/ops/compose/publish',
      headers: { ...FORM, cookie },
      payload: fields(world.department.id, world.category.id),
    });
    expect(published.statusCode, published.body).toBe(303);
    expect((await h.app.inject({ method: 'GET', url: published.headers.location as string, headers: { cookie } })).statusCode).toBe(200);
    // Another department's policy is not there for it.
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(other.department.id, other.category.id), 202);
    expect((await h.app.inject({ method: 'GET', url: `/ops/policies/${policy.id}`, headers: { cookie } })).statusCode).toBe(404);
    const audit = await call(h, 'GET', '/v1/audit?action=policy.publish&limit=5', undefined, 200);
    expect(audit.items.some((a: { details: { docNumber: string } }) => a.details.docNumber.startsWith('OPS-'))).toBe(true);
  });
});
