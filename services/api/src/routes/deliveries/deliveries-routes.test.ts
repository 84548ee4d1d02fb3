import { rowsOf, sql } from '@policy-push/db';
import { type ReachFixture, seedReachFixture } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, opsSignIn, tableCounts, type TestApp } from '../../../test/helpers';

const T0 = Date.parse('2026-01-05T08:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

describe('the delivery log', () => {
  let h: TestApp;
  let f: ReachFixture;
  let groupId: number;

  const ids = async (query: string) =>
    (await call(h, 'GET', `/v1/deliveries?${query}&limit=500`, undefined, 200)).items
      .map((d: any) => Number(d.id))
      .sort((a: number, b: number) => a - b);

  beforeAll(async () => {
    h = await buildTestApp();
    f = await seedReachFixture(h.t.db);
    const d = f.deliveries;
    [{ id: groupId }] = rowsOf<{ id: number }>(
      await h.t.db.execute(sql`insert into service_groups (department_id, name) values (${f.departmentId}, '规上工业企业') returning id`),
    ).map((r) => ({ id: Number(r.id) }));
    // e2: WeChat refused (not a follower), fell back to SMS, which was accepted and then undelivered.
    await h.t.db.execute(sql`
      update deliveries set created_at = ${at(0)}, finished_at = ${at(1)}, matched_group_ids = array[${groupId}::bigint]
      where id = ${d.e2wechat}`);
    await h.t.db.execute(sql`update deliveries set created_at = ${at(1)}, provider_message_id = 'SM0001' where id = ${d.e2sms}`);
    await h.t.db.execute(sql`
      insert into delivery_attempts (delivery_id, attempt, outcome, provider, provider_code, error, latency_ms, worker, response, created_at)
      values (${d.e2wechat}, 1, 'permanent', 'wechat', '43004', 'require subscribe', 120, 'w1', '{"errcode":43004,"errmsg":"require subscribe"}', ${at(1)}),
        (${d.e2sms}, 1, 'accepted', 'twilio', null, null, 80, 'w2', '{"sid":"SM0001","status":"queued"}', ${at(2)})`);
    await h.t.db.execute(sql`update delivery_attempts set provider_message_id = 'SM0001' where delivery_id = ${d.e2sms}`);
    await h.t.db.execute(sql`
      insert into delivery_events (delivery_id, channel, provider_message_id, type, error_code, payload, occurred_at)
      values (${d.e2sms}, 'sms', 'SM0001', 'undelivered', '30005', '{"MessageStatus":"undelivered","ErrorCode":"30005"}', ${at(60)})`);
    await h.t.db.execute(sql`update policies set title = ${'数字化转型 100% 补贴'} where id = ${f.policyId}`);
  });
  afterAll(() => h.close());

  it('filters by provider, error code, contact and free text on the policy title', async () => {
    const d = f.deliveries;
    expect(await ids(`policyId=${f.policyId}&provider=twilio`)).toEqual([d.e2sms]);
    expect(await ids(`policyId=${f.policyId}&provider=wechat`)).toEqual([d.e2wechat]);
    expect(await ids(`policyId=${f.policyId}&provider=smtp`)).toEqual([]);
    expect(await ids(`policyId=${f.policyId}&errorCode=43004`)).toEqual([d.e2wechat]);
    expect(await ids(`errorCode=30005&channel=sms&status=undelivered`)).toEqual([d.e2sms]);
    const [contact] = rowsOf<{ contact_id: string }>(await h.t.db.execute(sql`select contact_id from deliveries where id = ${d.e3email}`));
    expect(await ids(`contactId=${contact.contact_id}`)).toEqual([d.e3email]);
    // LIKE's wildcards are taken literally: "100%" matches, "10_" does not match "100".
    expect(await ids(`q=${encodeURIComponent('100%')}`)).toEqual(Object.values(d).sort((a, b) => a - b));
    expect(await ids(`q=${encodeURIComponent('数字化转型')}&channel=wechat`)).toEqual([d.e2wechat, d.e8wechat].sort((a, b) => a - b));
    expect(await ids(`q=${encodeURIComponent('10_')}`)).toEqual([]);
  });

  it('says why a held or waiting delivery waits and when it is due, in the API and on the ops page', async () => {
    const d = f.deliveries;
    const shanghai = (iso: string) => new Date(Date.parse(iso) + 8 * 3_600_000);
    const held = (await call(h, 'GET', `/v1/deliveries/${d.e6email}`, undefined, 200)).wait;
    expect(held.reason).toBe('digest_daily');
    expect([shanghai(held.dueAt).getUTCHours(), shanghai(held.dueAt).getUTCMinutes()]).toEqual([8, 30]);
    expect(Date.parse(held.dueAt) - Date.now()).toBeGreaterThan(0);
    expect(Date.parse(held.dueAt) - Date.now()).toBeLessThanOrEqual(86_400_000);
    const page = await h.app.inject({
      method: 'GET',
      url: `/ops/deliveries/${d.e6email}`,
      headers: { cookie: (await opsSignIn(h, h.auth.authorization.replace('Bearer ', ''))).cookie },
    });
    expect(page.body).toContain('data-wait="digest_daily"');

    await h.t.db.execute(sql`update deliveries set digest_period = 'weekly' where id = ${d.e6email}`);
    const weekly = (await call(h, 'GET', `/v1/deliveries/${d.e6email}`, undefined, 200)).wait;
    expect([weekly.reason, shanghai(weekly.dueAt).getUTCDay()]).toEqual(['digest_weekly', 1]);
    await h.t.db.execute(sql`update deliveries set digest_period = 'daily' where id = ${d.e6email}`);

    const morning = new Date(Date.now() + 3 * 3_600_000);
    await h.t.db.execute(sql`
      update deliveries set error_code = 'quiet_hours', next_attempt_at = ${morning.toISOString()} where id = ${d.e3email}`);
    const quiet = await call(h, 'GET', `/v1/deliveries?policyId=${f.policyId}&status=pending`, undefined, 200);
    expect(quiet.items.map((x: any) => x.wait)).toEqual([{ reason: 'quiet_hours', dueAt: morning.toISOString() }]);
    await h.t.db.execute(sql`update deliveries set error_code = null, next_attempt_at = now() where id = ${d.e3email}`);

    expect((await call(h, 'GET', `/v1/deliveries/${d.e1sms}`, undefined, 200)).wait).toBeNull();
  });

  it('filters merged deliveries, and push progress counts them: matched is the sum of its parts', async () => {
    expect(await ids(`policyId=${f.policyId}&status=merged`)).toEqual([f.deliveries.e5sms]);
    await h.t.db.execute(sql`insert into pushes (policy_id, policy_version, status) values (${f.policyId}, 1, 'fanned_out')`);
    const progress = await call(h, 'GET', `/v1/policies/${f.policyId}/push`, undefined, 200);
    expect(progress.merged).toBe(1);
    const { id, policyId, version, status, startAt, matched, done, ...byStatus } = progress;
    expect(matched).toBe(Object.values(byStatus as Record<string, number>).reduce((a, b) => a + b, 0));
  });

  it('shows why a delivery was sent and its whole timeline, oldest first', async () => {
    const d = f.deliveries;
    const wechat = await call(h, 'GET', `/v1/deliveries/${d.e2wechat}`, undefined, 200);
    expect(wechat.why).toEqual({
      categoryIds: [String(f.categoryId)],
      groupIds: [String(groupId)],
      categories: [{ id: String(f.categoryId), code: expect.stringMatching(/^reach-/), nameZh: '测试类' }],
      groups: [{ id: String(groupId), name: '规上工业企业' }],
    });
    expect(wechat.timeline).toEqual([
      { at: at(0), type: 'matched', channel: 'wechat' },
      {
        at: at(1),
        type: 'attempt',
        attempt: 1,
        outcome: 'permanent',
        provider: 'wechat',
        providerCode: '43004',
        providerMessageId: null,
        error: 'require subscribe',
        latencyMs: 120,
        worker: 'w1',
        response: { errcode: 43004, errmsg: 'require subscribe' },
      },
      { at: at(1), type: 'fallback', deliveryId: String(d.e2sms), channel: 'sms', status: 'undelivered' },
    ]);

    const sms = await call(h, 'GET', `/v1/deliveries/${d.e2sms}`, undefined, 200);
    expect(sms.fallbackOf).toBe(String(d.e2wechat));
    expect(sms.timeline.map((e: any) => [e.at, e.type])).toEqual([
      [at(1), 'fallback_of'],
      [at(1), 'matched'],
      [at(2), 'attempt'],
      [at(60), 'receipt'],
    ]);
    expect(sms.timeline[0]).toMatchObject({ deliveryId: String(d.e2wechat), channel: 'wechat', status: 'failed', errorCode: '43004' });
    expect(sms.timeline[2]).toMatchObject({ provider: 'twilio', latencyMs: 80, response: { sid: 'SM0001', status: 'queued' } });
    expect(sms.timeline[3]).toEqual({
      at: at(60),
      type: 'receipt',
      event: 'undelivered',
      errorCode: '30005',
      payload: { MessageStatus: 'undelivered', ErrorCode: '30005' },
    });
    // The older shape stays for existing clients.
    expect(sms.history.attempts).toHaveLength(1);
    expect(sms.history.events.map((e: any) => e.type)).toEqual(['undelivered']);

    // Opened twice: its first and last open, counted in engagement.
    const email = await call(h, 'GET', `/v1/deliveries/${d.e7email}`, undefined, 200);
    expect(email.engagement).toMatchObject({ opens: 2, machineOpens: 0 });
    expect(email.engagement.engagedAt).toBe(email.engagement.firstOpenedAt);
    expect(email.timeline.map((e: any) => e.type)).toEqual(['matched', 'opened', 'last_opened']);
    // Merged into e1's sms: the timeline names the delivery that carried its message.
    const merged = await call(h, 'GET', `/v1/deliveries/${d.e5sms}`, undefined, 200);
    expect(merged.timeline.find((e: any) => e.type === 'merged')).toMatchObject({ deliveryId: String(d.e1sms), status: 'delivered' });
    expect(merged.engagement).toEqual({ firstOpenedAt: null, lastOpenedAt: null, opens: 0, engagedAt: null, machineOpens: 0 });
  });

  it('refuses bad filters and ids with a 400 and writes nothing', async () => {
    const before = await tableCounts(h.t);
    for (const url of [
      '/v1/deliveries?provider=Twilio%20SMS',
      '/v1/deliveries?errorCode=',
      `/v1/deliveries?q=${'x'.repeat(201)}`,
      '/v1/deliveries?q=',
      '/v1/deliveries?status=lost',
      '/v1/deliveries?unknown=1',
      '/v1/deliveries/abc',
      '/v1/deliveries/export?contactId=x',
      '/v1/deliveries/export?limit=5',
    ]) {
      const res = await h.app.inject({ method: 'GET', url, headers: h.auth });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe('invalid_request');
    }
    expect((await h.app.inject({ method: 'GET', url: '/v1/deliveries/999999999', headers: h.auth })).statusCode).toBe(404);
    expect(await tableCounts(h.t)).toEqual(before);
  });
});

describe('retrying failed deliveries', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(() => h.close());

  /** The fixture plus failures on a second channel for e3 (email pending), e4 (sms suppressed) and e8 (wechat delivered). */
  async function world() {
    const f = await seedReachFixture(h.t.db);
    const failOn = async (name: string, channel: string, code: string) => {
      const [row] = rowsOf<{ id: string }>(
        await h.t.db.execute(sql`
          insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, error_code, attempts, finished_at)
          select policy_id, 1, enterprise_id, contact_id, ${channel}, 'policy', 'failed', ${code}, 3, now()
          from deliveries where id = ${f.deliveries[name]}
          returning id`),
      );
      return Number(row.id);
    };
    return {
      f,
      e3sms: await failOn('e3email', 'sms', '30003'),
      e4email: await failOn('e4sms', 'email', '550'),
      e8sms: await failOn('e8wechat', 'sms', '30003'),
    };
  }
  const row = async (id: number) =>
    rowsOf<{ status: string; attempts: number; error_code: string | null }>(
      await h.t.db.execute(sql`select status, attempts, error_code from deliveries where id = ${id}`),
    )[0];
  const retry = (body: object) => h.app.inject({ method: 'POST', url: '/v1/deliveries/retry', headers: h.auth, payload: body });

  it('re-queues only failed deliveries whose contact was not reached since, once per contact, and audits it', async () => {
    const w = await world();
    const d = w.f.deliveries;
    const res = await retry({ policyId: String(w.f.policyId) });
    expect(res.statusCode, res.body).toBe(200);
    // e2: its WeChat (the first of its failed pair); e4: its email (its sms was suppressed, not sent).
    // Not e2's sms (one per contact), e3's sms (its email is on its way), e8's sms (reached by WeChat).
    expect(res.json()).toEqual({ requeued: 2 });
    expect(await row(d.e2wechat)).toEqual({ status: 'pending', attempts: 0, error_code: null });
    expect(await row(w.e4email)).toEqual({ status: 'pending', attempts: 0, error_code: null });
    expect((await row(d.e2sms)).status).toBe('undelivered');
    expect((await row(w.e3sms)).status).toBe('failed');
    expect((await row(w.e8sms)).status).toBe('failed');
    for (const name of ['e1sms', 'e8wechat', 'e9update']) expect((await row(d[name])).status).toBe('delivered');

    const [audit] = rowsOf<Record<string, any>>(
      await h.t.db.execute(sql`
        select a.action, a.subject_type, a.subject_id, a.details, a.ip, k.name as key_name
        from audit_log a join api_keys k on k.id = a.api_key_id
        where a.action = 'deliveries.retry' and a.subject_id = ${String(w.f.policyId)}`),
    );
    expect(audit).toEqual({
      action: 'deliveries.retry',
      subject_type: 'policy',
      subject_id: String(w.f.policyId),
      details: { filter: { policyId: String(w.f.policyId) }, count: 2 },
      ip: '127.0.0.1',
      key_name: 'test admin',
    });
    // Once re-queued they are pending, so a second retry finds nothing (and is audited too).
    expect((await retry({ policyId: String(w.f.policyId) })).json()).toEqual({ requeued: 0 });
  });

  it('narrows by status, channel and error code', async () => {
    const w = await world();
    const d = w.f.deliveries;
    expect((await retry({ policyId: String(w.f.policyId), status: 'undelivered' })).json()).toEqual({ requeued: 1 });
    expect((await row(d.e2sms)).status).toBe('pending');
    expect((await row(d.e2wechat)).status).toBe('failed');
    expect((await retry({ policyId: String(w.f.policyId), channel: 'email', errorCode: '451' })).json()).toEqual({ requeued: 0 });
    expect((await retry({ policyId: String(w.f.policyId), channel: 'email', errorCode: '550' })).json()).toEqual({ requeued: 1 });
    expect((await row(w.e4email)).status).toBe('pending');
    const [audits] = rowsOf<{ n: number }>(
      await h.t.db.execute(
        sql`select count(*)::int as n from audit_log where action = 'deliveries.retry' and subject_id = ${String(w.f.policyId)}`,
      ),
    );
    expect(audits.n).toBe(3);
  });

  it('refuses bad input with a 4xx and writes nothing', async () => {
    const w = await world();
    const revoked = await seedReachFixture(h.t.db);
    await h.t.db.execute(sql`update policies set status = 'revoked' where id = ${revoked.policyId}`);
    const before = await tableCounts(h.t);
    const refused: [object, number, string][] = [
      [{}, 400, 'invalid_request'],
      [{ policyId: 12 }, 400, 'invalid_request'],
      [{ policyId: 'x' }, 400, 'invalid_request'],
      [{ policyId: String(w.f.policyId), channel: 'fax' }, 400, 'invalid_request'],
      [{ policyId: String(w.f.policyId), status: 'delivered' }, 400, 'invalid_request'],
      [{ policyId: String(w.f.policyId), errorCode: '' }, 400, 'invalid_request'],
      [{ policyId: String(w.f.policyId), everything: true }, 400, 'invalid_request'],
      [{ policyId: '999999999' }, 404, 'not_found'],
      [{ policyId: String(revoked.policyId) }, 409, 'policy_not_published'],
    ];
    for (const [body, status, code] of refused) {
      const res = await retry(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().error.code, JSON.stringify(body)).toBe(code);
    }
    expect(
      (await h.app.inject({ method: 'POST', url: '/v1/deliveries/retry', payload: { policyId: String(w.f.policyId) } })).statusCode,
    ).toBe(401);
    expect(await tableCounts(h.t)).toEqual(before);
  });
});
