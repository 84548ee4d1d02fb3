import { Writable } from 'node:stream';
import { createLogger, emailConfirmationLink, preferencesLink, signToken } from '@policy-push/core';
import { fanOutNextChunk, rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app';
import { buildTestApp, call, contactAudit, policyBody, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

const BASE = 'https://push.example.org';
const DAY = 86_400_000;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('preferences page', () => {
  let h: TestApp;
  let secret: string;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  // The first enterprise's contact has every address; the second enterprise is someone else.
  let me: { enterpriseId: string; contactId: string; subscriptionId: string };
  let other: { enterpriseId: string; contactId: string; subscriptionId: string };

  const pathOf = (link: string) => new URL(link).pathname;
  const pageOf = (contactId: string | number, now = new Date()) => pathOf(preferencesLink(BASE, secret, contactId, now));
  const get = (url: string) => h.app.inject({ method: 'GET', url });
  const post = (url: string, body: string) => h.app.inject({ method: 'POST', url, headers: form, payload: body });
  const subscription = (id: string) => call(h, 'GET', `/v1/subscriptions/${id}`, undefined, 200);
  const contactRow = async (id: string) =>
    rowsOf<{ opted_out: string[]; consent_source: string; email_confirmed_at: unknown; updated_at: unknown }>(
      await h.t.db.execute(sql`select opted_out, consent_source, email_confirmed_at, updated_at from contacts where id = ${Number(id)}`),
    )[0];
  /** Every contact and subscription row as it stands, with the table counts: proof that nothing was written. */
  const snapshot = async () => ({
    counts: await tableCounts(h.t),
    contacts: rowsOf(await h.t.db.execute(sql`select * from contacts order by id`)),
    subscriptions: rowsOf(await h.t.db.execute(sql`select * from subscriptions order by id`)),
  });

  beforeAll(async () => {
    h = await buildTestApp();
    secret = h.app.deps.signingSecret;
    world = await seedWorld(h, [
      { phone: '13800138000', email: 'li.lei@example.com', wechatOpenid: 'oPrefs_openid_0001' },
      { phone: '13900139000' },
    ]);
    const subscriptionOf = async (enterpriseId: string) =>
      (await call(h, 'GET', `/v1/subscriptions?enterpriseId=${enterpriseId}`, undefined, 200)).items[0].id as string;
    const [mine, theirs] = world.enterprises;
    me = { enterpriseId: mine.enterprise.id, contactId: mine.contact.id, subscriptionId: await subscriptionOf(mine.enterprise.id) };
    other = {
      enterpriseId: theirs.enterprise.id,
      contactId: theirs.contact.id,
      subscriptionId: await subscriptionOf(theirs.enterprise.id),
    };
  });
  afterAll(() => h.close());

  it('shows the contact (masked), its consent, the subscriptions and an inbox of what was sent', async () => {
    await h.t.db.execute(
      sql`update contacts set consent_source = 'imported', consent_at = '2030-01-02T03:00:00Z' where id = ${Number(me.contactId)}`,
    );
    // Two policies fanned out to both enterprises: the first was delivered, the second is still pending.
    const delivered = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { title: '已送达的政策' }),
      202,
    );
    const pending = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { title: '尚未发送的政策' }),
      202,
    );
    while (await fanOutNextChunk(h.t.db, 1000));
    await h.t.db.execute(sql`
      update deliveries set status = 'delivered', sent_at = now(), attempts = 1
      where policy_id = ${Number(delivered.policy.id)} and enterprise_id = ${Number(me.enterpriseId)}`);
    expect(pending.policy.id).toBeDefined();

    const res = await get(pageOf(me.contactId));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const page = res.body;
    expect(page).toContain('<html lang="zh-Hans">');
    expect(page).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    expect(page).not.toMatch(/<script|src=|https?:\/\/(?!policy\.example\.gov\.cn)/);
    // The contact, masked; its enterprise; its consent in words, with the date.
    expect(page).toContain(world.enterprises[0].enterprise.name);
    expect(page).toContain('138****8000');
    expect(page).toContain('l***@example.com');
    expect(page).not.toContain('13800138000');
    expect(page).not.toContain('li.lei');
    expect(page).not.toContain('oPrefs_openid_0001');
    expect(page).toContain('从名单批量导入，2030-01-02');
    expect(page).toContain('imported from a list, 2030-01-02');
    expect(page).toContain('尚未确认');
    // The subscription as a form: its category checked, its frequency selected.
    expect(page).toContain(`name="subscriptionId" value="${me.subscriptionId}"`);
    expect(page).toContain(`name="categoryId" value="${world.category.id}" checked> 测试类 <span lang="en">Test</span>`);
    expect(page).toContain('<option value="immediate" selected>');
    // The inbox: the delivered policy with its department, status and link; not the pending one.
    expect(page).toMatch(/<li class="unread"><p><form method="post" class="open">.*<button type="submit">已送达的政策<\/button><\/form>/);
    expect(page).toContain('未读 <span lang="en">unread</span>');
    expect(page).toMatch(/\d{4}-\d{2}-\d{2} · 测试局 <span lang="en">Test Bureau<\/span> · 已送达 <span lang="en">delivered<\/span>/);
    expect(page).not.toContain('尚未发送的政策');
    // The other enterprise's delivery of the same policy is still pending: its inbox is empty.
    expect((await get(pageOf(other.contactId))).body).not.toContain('已送达的政策');
  });

  it('marks a policy opened in the inbox read and counts the enterprise engaged, once, audited as the recipient', async () => {
    const created = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { title: '收件箱里打开的政策' }),
      202,
    );
    const policyId = created.policy.id as string;
    while (await fanOutNextChunk(h.t.db, 1000));
    await h.t.db.execute(sql`
      update deliveries set status = 'delivered', sent_at = now() - interval '10 minutes', finished_at = now() - interval '9 minutes', attempts = 1
      where policy_id = ${Number(policyId)} and enterprise_id = ${Number(me.enterpriseId)}`);
    const reach = () => call(h, 'GET', `/v1/policies/${policyId}/reach`, undefined, 200);
    expect((await reach()).totals).toMatchObject({ reached: 1, engaged: 0 });

    // The other enterprise was never sent it: not in its inbox, refused, nothing written.
    const before = await snapshot();
    const refused = await post(pageOf(other.contactId), `action=read-policy&policyId=${policyId}`);
    expect(refused.statusCode).toBe(404);
    expect((await post(pageOf(me.contactId), 'action=read-policy')).statusCode).toBe(400);
    expect((await post(pageOf(me.contactId), 'action=read-policy&policyId=999999999')).statusCode).toBe(404);
    expect(await snapshot()).toEqual(before);

    const opened = await post(pageOf(me.contactId), `action=read-policy&policyId=${policyId}`);
    expect(opened.statusCode, opened.body).toBe(303);
    expect(opened.headers.location).toBe('https://policy.example.gov.cn/2020/004');
    const after = await reach();
    // Engaged under all channels only: the inbox is no channel of the policy's messages.
    expect(after.totals).toMatchObject({ reached: 1, engaged: 1 });
    expect(after.byChannel.every((c: any) => c.engaged === 0)).toBe(true);
    const timeline = await call(h, 'GET', `/v1/policies/${policyId}/reach/timeline?bucket=hour`, undefined, 200);
    expect(timeline.points.at(-1)).toMatchObject({ cumulativeReached: 1, cumulativeEngaged: 1 });
    expect((await get(pageOf(me.contactId))).body).toMatch(
      /<li class="read"><p><form[^]*?<button type="submit">收件箱里打开的政策<\/button>/,
    );

    // Opened again: still one engagement, one audit row.
    expect((await post(pageOf(me.contactId), `action=read-policy&policyId=${policyId}`)).statusCode).toBe(303);
    expect((await reach()).totals.engaged).toBe(1);
    expect((await contactAudit(h.t, me.contactId)).filter((a) => a.action === 'contact.policy_read')).toEqual([
      { actor: 'recipient', api_key_id: null, action: 'contact.policy_read' },
    ]);
  });

  it('lists a message that went astray, newest first', async () => {
    const astray = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { title: '未能送达的政策' }),
      202,
    );
    while (await fanOutNextChunk(h.t.db, 1000));
    await h.t.db.execute(sql`
      update deliveries set status = 'failed', finished_at = now() + interval '1 minute', attempts = 3
      where policy_id = ${Number(astray.policy.id)} and enterprise_id = ${Number(me.enterpriseId)}`);
    const page = (await get(pageOf(me.contactId))).body;
    expect(page).toContain('未送达 <span lang="en">not delivered</span>');
    expect(page.indexOf('未能送达的政策')).toBeGreaterThan(-1);
    expect(page.indexOf('未能送达的政策')).toBeLessThan(page.indexOf('已送达的政策'));
  });

  it('counts a message by what carried it: a shared address, a digest', async () => {
    // Two enterprises whose contacts share one phone: one SMS goes out, the other is merged into it.
    const shared = await seedWorld(h, [
      { phone: '13600136000', channels: ['sms'] },
      { phone: '13600136000', channels: ['sms'] },
    ]);
    const [a, b] = shared.enterprises;
    const policy = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(shared.department.id, shared.category.id, { title: '共用号码的政策' }),
      202,
    );
    while (await fanOutNextChunk(h.t.db, 1000));
    const statuses = rowsOf<{ status: string }>(
      await h.t.db.execute(sql`select status from deliveries where policy_id = ${Number(policy.policy.id)} order by id`),
    ).map((r) => r.status);
    expect(statuses.sort()).toEqual(['merged', 'pending']);
    expect((await get(pageOf(b.contact.id))).body).not.toContain('共用号码的政策');
    await h.t.db.execute(
      sql`update deliveries set status = 'delivered', sent_at = now() where policy_id = ${Number(policy.policy.id)} and status = 'pending'`,
    );
    for (const { contact } of [a, b]) {
      expect((await get(pageOf(contact.id))).body).toMatch(
        /共用号码的政策<\/button><\/form><\/p>\n?<p class="meta">.*?<span lang="en">[^<]*<\/span> · 已送达/,
      );
    }

    // A daily subscriber: the policy is held, then folded into a digest that went out.
    const daily = await seedWorld(h, [{ email: 'digest.reader@example.com', channels: ['email'] }]);
    const [{ enterprise, contact }] = daily.enterprises;
    const sub = (await call(h, 'GET', `/v1/subscriptions?enterpriseId=${enterprise.id}`, undefined, 200)).items[0];
    await call(h, 'PATCH', `/v1/subscriptions/${sub.id}`, { frequency: 'daily' }, 200);
    const held = await call(h, 'POST', '/v1/policies', policyBody(daily.department.id, daily.category.id, { title: '汇总里的政策' }), 202);
    while (await fanOutNextChunk(h.t.db, 1000));
    expect((await get(pageOf(contact.id))).body).not.toContain('汇总里的政策');
    await h.t.db.execute(sql`
      with digest as (
        insert into deliveries (enterprise_id, contact_id, channel, kind, status, digest_period, sent_at)
        values (${Number(enterprise.id)}, ${Number(contact.id)}, 'email', 'digest', 'sent', '2030-01-01', now()) returning id
      )
      update deliveries set status = 'digested', digest_id = (select id from digest)
      where policy_id = ${Number(held.policy.id)} and status = 'held'`);
    expect((await get(pageOf(contact.id))).body).toContain('已在汇总中发送 <span lang="en">sent in a digest</span>');
  });

  it('updates categories, channel order and frequency of its enterprise subscription', async () => {
    const second = await call(h, 'POST', '/v1/categories', { code: `prefs-${Date.now()}`, nameZh: '第二类', nameEn: 'Second' }, 201);
    const body = [
      'action=update-subscription',
      `subscriptionId=${me.subscriptionId}`,
      `categoryId=${world.category.id}`,
      `categoryId=${second.id}`,
      'channel=email',
      'channel=sms',
      'channel=',
      'frequency=weekly',
    ].join('&');
    const res = await post(pageOf(me.contactId), body);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain('订阅已保存');
    expect(await subscription(me.subscriptionId)).toMatchObject({
      categoryIds: [world.category.id, second.id],
      channels: ['email', 'sms'],
      frequency: 'weekly',
    });
    // The page shows the change.
    expect(res.body).toContain(`value="${second.id}" checked>`);
    expect(res.body).toContain('<option value="weekly" selected>');
    expect(res.body).toMatch(
      /<select name="channel"><option value="">—<\/option><option value="wechat">[^<]*<\/option><option value="sms">[^<]*<\/option><option value="email" selected>/,
    );

    // No channel at all: the contacts' own order.
    const back = `action=update-subscription&subscriptionId=${me.subscriptionId}&categoryId=${world.category.id}&channel=&channel=&channel=&frequency=immediate`;
    expect((await post(pageOf(me.contactId), back)).statusCode).toBe(200);
    expect(await subscription(me.subscriptionId)).toMatchObject({ categoryIds: [world.category.id], channels: [], frequency: 'immediate' });
  });

  it('refuses an update the subscriptions API would refuse, and writes nothing', async () => {
    const cases: [string, number, string][] = [
      // No category left (and no department): the API's empty_subscription.
      [`action=update-subscription&subscriptionId=${me.subscriptionId}&channel=sms&frequency=daily`, 422, 'empty_subscription'],
      [`action=update-subscription&subscriptionId=${me.subscriptionId}&categoryId=987654&frequency=daily`, 422, 'unknown_category'],
      [
        `action=update-subscription&subscriptionId=${me.subscriptionId}&categoryId=${world.category.id}&channel=sms&channel=sms&frequency=daily`,
        400,
        'duplicate_channel',
      ],
      [
        `action=update-subscription&subscriptionId=${me.subscriptionId}&categoryId=${world.category.id}&frequency=hourly`,
        400,
        'invalid_form',
      ],
      [`action=update-subscription&subscriptionId=${me.subscriptionId}&categoryId=${world.category.id}`, 400, 'invalid_form'],
      [`action=update-subscription&subscriptionId=${me.subscriptionId}&categoryId=cat&frequency=daily`, 400, 'invalid_form'],
      [`action=resubscribe-channel&channel=fax`, 400, 'invalid_form'],
      [`action=drop-tables`, 400, 'invalid_form'],
      [`action=unsubscribe-all&extra=1`, 400, 'invalid_form'],
    ];
    for (const [body, status, code] of cases) {
      const before = await snapshot();
      const res = await post(pageOf(me.contactId), body);
      expect(res.statusCode, body).toBe(status);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body, body).toContain(`role="alert" data-code="${code}"`);
      expect(res.body).toContain('政策推送设置');
      expect(await snapshot(), body).toEqual(before);
    }
  });

  it("cannot change another enterprise's subscription with this contact's link (404, nothing written)", async () => {
    const before = await snapshot();
    const body = `action=update-subscription&subscriptionId=${other.subscriptionId}&categoryId=${world.category.id}&channel=email&frequency=weekly`;
    const res = await post(pageOf(me.contactId), body);
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('data-code="not_found"');
    expect(await snapshot()).toEqual(before);
    // An unknown subscription id is the same 404.
    const unknown = await post(pageOf(me.contactId), body.replace(`subscriptionId=${other.subscriptionId}`, 'subscriptionId=987654'));
    expect(unknown.statusCode).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it('unsubscribes the contact from every channel, and takes one channel back', async () => {
    const res = await post(pageOf(other.contactId), 'action=unsubscribe-all');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain('您已退订全部渠道');
    expect((await contactRow(other.contactId)).opted_out).toEqual(['wechat', 'sms', 'email']);
    // The contact only: its enterprise's subscription and the other contact stay as they were.
    expect(await subscription(other.subscriptionId)).toMatchObject({ active: true });
    expect((await contactRow(me.contactId)).opted_out).toEqual([]);
    // Again: nothing changes.
    expect((await post(pageOf(other.contactId), 'action=unsubscribe-all')).statusCode).toBe(200);
    expect((await contactRow(other.contactId)).opted_out).toEqual(['wechat', 'sms', 'email']);

    const back = await post(pageOf(other.contactId), 'action=resubscribe-channel&channel=sms');
    expect(back.statusCode, back.body).toBe(200);
    expect(back.body).toContain('您将重新通过短信收到政策推送');
    const row = await contactRow(other.contactId);
    expect(row.opted_out).toEqual(['wechat', 'email']);
    // Asking for it again is the contact's own consent.
    expect(row.consent_source).toBe('self-service');
    expect(back.body).toContain('由您本人提交');
    // Each change is in the audit log as the recipient's own (issue 12).
    expect((await contactAudit(h.t, other.contactId)).filter((a) => a.action === 'contact.preferences')).toEqual([
      { actor: 'recipient', api_key_id: null, action: 'contact.preferences' },
      { actor: 'recipient', api_key_id: null, action: 'contact.preferences' },
      { actor: 'recipient', api_key_id: null, action: 'contact.preferences' },
    ]);
  });

  it('refuses forged, expired and other-purpose links with a 400 page, and writes nothing', async () => {
    const valid = pageOf(me.contactId).slice('/p/'.length);
    const [body, signature] = valid.split('.');
    const later = new Date(Date.now() + DAY);
    const forgedBody = Buffer.from(JSON.stringify({ p: 'preferences', s: other.contactId, e: later.getTime() / 1000 })).toString(
      'base64url',
    );
    const bad = {
      'another contact, same signature': `${forgedBody}.${signature}`,
      'another secret': signToken('another-secret-that-is-long-enough-123', 'preferences', me.contactId, later),
      'expired yesterday': signToken(secret, 'preferences', me.contactId, new Date(Date.now() - DAY)),
      'signed 31 days ago': pageOf(me.contactId, new Date(Date.now() - 31 * DAY)).slice('/p/'.length),
      'unsubscribe purpose': signToken(secret, 'unsubscribe', me.contactId, later),
      'confirm-email purpose': pathOf(emailConfirmationLink(BASE, secret, me.contactId, 'li.lei@example.com', new Date())).slice(
        '/c/'.length,
      ),
      'not a contact id': signToken(secret, 'preferences', 'everyone', later),
      garbage: 'abc',
      empty: '',
      'a body without signature': body,
    };
    const before = await snapshot();
    for (const [what, token] of Object.entries(bad)) {
      const page = await get(`/p/${token}`);
      expect(page.statusCode, what).toBe(400);
      expect(page.body, what).toContain('链接无效或已过期');
      expect(page.body, what).not.toContain('138****8000');
      const change = await post(`/p/${token}`, `action=unsubscribe-all`);
      expect(change.statusCode, what).toBe(400);
      const update = await post(
        `/p/${token}`,
        `action=update-subscription&subscriptionId=${me.subscriptionId}&categoryId=${world.category.id}&frequency=weekly`,
      );
      expect(update.statusCode, what).toBe(400);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 404 for a contact that no longer exists', async () => {
    const gone = await call(h, 'POST', `/v1/enterprises/${other.enterpriseId}/contacts`, { phone: '13700137000' }, 201);
    await call(h, 'DELETE', `/v1/contacts/${gone.id}`, undefined, 204);
    const res = await get(pageOf(gone.id));
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('找不到联系人');
  });

  it('escapes what it shows: an enterprise named <script>', async () => {
    await call(h, 'PATCH', `/v1/enterprises/${other.enterpriseId}`, { name: '<script>alert("x")</script> & Co' }, 200);
    const page = (await get(pageOf(other.contactId))).body;
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co');
  });

  it('confirms an email address once, by its own link only', async () => {
    const linkFor = (email: string, now = new Date()) => pathOf(emailConfirmationLink(BASE, secret, me.contactId, email, now));
    const before = await snapshot();
    const refused = [
      linkFor('li.lei@example.com', new Date(Date.now() - 8 * DAY)), // expired
      linkFor('someone.else@example.com'), // sent to an address the contact no longer has
      `/c/${signToken(secret, 'confirm-email', `${me.contactId}`, new Date(Date.now() + DAY))}`, // no address in it
      `/c/${pageOf(me.contactId).slice('/p/'.length)}`, // a preferences token
      `/c/${signToken('another-secret-that-is-long-enough-123', 'confirm-email', `${me.contactId}:x`, new Date(Date.now() + DAY))}`,
    ];
    for (const url of refused) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.body).toContain('链接无效或已过期');
    }
    expect(await snapshot()).toEqual(before);

    const first = await get(linkFor('LI.LEI@example.com'));
    expect(first.statusCode, first.body).toBe(200);
    expect(first.body).toContain('您的电子邮件地址已确认');
    const confirmedAt = (await contactRow(me.contactId)).email_confirmed_at;
    expect(confirmedAt).not.toBeNull();

    const again = await get(linkFor('li.lei@example.com'));
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain('无需再次确认');
    expect((await contactRow(me.contactId)).email_confirmed_at).toEqual(confirmedAt);
    expect((await get(pageOf(me.contactId))).body).toMatch(/已于 \d{4}-\d{2}-\d{2} 确认/);
  });

  it('keeps the token out of the request log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = await buildApp({ ...h.app.deps, logger: createLogger({ level: 'debug' }, sink) });
    try {
      const url = pageOf(me.contactId);
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
      expect((await app.inject({ method: 'POST', url, headers: form, payload: 'action=resubscribe-channel&channel=sms' })).statusCode).toBe(
        200,
      );
      const log = lines.join('');
      expect(log).toContain('"url":"/p/*"');
      expect(log).not.toContain(url.slice('/p/'.length));
    } finally {
      await app.close();
    }
  });
});
