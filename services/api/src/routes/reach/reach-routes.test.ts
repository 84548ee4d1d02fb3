import { rowsOf, sql } from '@policy-push/db';
import { seedReachFixture } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, tableCounts, type TestApp } from '../../../test/helpers';

const stages = (targeted: number, withDelivery: number, sent: number, delivered: number, reached: number, engaged: number) => ({
  targeted,
  addressable: targeted,
  unaddressable: { noContact: 0, noAddress: 0, optedOut: 0, emailUnconfirmed: 0 },
  withDelivery,
  sent,
  delivered,
  reached,
  engaged,
  lateMatched: 0,
});

describe('reach', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(() => h.close());

  it("answers a policy's funnel with rates, breakdowns by channel, district, industry and size, and failures", async () => {
    const f = await seedReachFixture(h.t.db);
    const reach = await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200);
    // Hand-computed in packages/db/test/reach.test.ts: 8 targeted, 4 reached, 3 engaged.
    expect(reach).toMatchObject({
      policyId: String(f.policyId),
      upToDate: true,
      totals: { ...stages(8, 7, 5, 3, 4, 3), reachRate: 0.5, awareness: 0.375 },
    });
    // Follow-ups: no reminder yet (they are counted in packages/db/test/reach.test.ts).
    expect(reach.followUps).toEqual({ remindersSent: 0, reminded: 0, engagedAfterReminder: 0, engagedAfterReminderRate: null });
    expect(reach.byChannel.find((c: any) => c.channel === 'wechat')).toEqual({
      channel: 'wechat',
      ...stages(2, 2, 1, 1, 1, 0),
      reachRate: 0.5,
      awareness: 0,
    });
    expect(reach.byDistrict.find((d: any) => d.district === '440106')).toMatchObject({
      nameZh: '天河区',
      nameEn: 'Tianhe',
      ...stages(3, 3, 3, 1, 2, 2),
      reachRate: 0.6667,
    });
    expect(reach.bySection.map((s: any) => [s.section, s.targeted])).toEqual([
      ['C', 5],
      ['F', 1],
      ['G', 2],
    ]);
    expect(reach.bySection.find((s: any) => s.section === 'C').nameZh).toBeTruthy();
    expect(reach.bySize.find((s: any) => s.size === 'micro')).toMatchObject({ nameZh: '微型', ...stages(1, 0, 0, 0, 0, 0), reachRate: 0 });
    expect(reach.failures).toEqual([
      { channel: 'sms', errorCode: '30005', deliveries: 1 },
      { channel: 'wechat', errorCode: '43004', deliveries: 1 },
    ]);
  });

  it("answers a policy's reach over time by hour and by day, ending at the funnel's totals", async () => {
    const f = await seedReachFixture(h.t.db);
    const reach = await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200);
    for (const bucket of ['hour', 'day']) {
      const timeline = await call(h, 'GET', `/v1/policies/${f.policyId}/reach/timeline?bucket=${bucket}`, undefined, 200);
      expect(timeline).toMatchObject({ policyId: String(f.policyId), bucket, upToDate: true });
      expect(timeline.points.at(-1)).toMatchObject({ cumulativeReached: reach.totals.reached, cumulativeEngaged: reach.totals.engaged });
    }
    // Catches up as the funnel does: e3's email delivered now counts before the answer.
    await h.t.db.execute(
      sql`update deliveries set status = 'delivered', sent_at = now(), finished_at = now() where id = ${f.deliveries.e3email}`,
    );
    const after = await call(h, 'GET', `/v1/policies/${f.policyId}/reach/timeline`, undefined, 200);
    expect(after).toMatchObject({ bucket: 'day', upToDate: true });
    expect(after.points.at(-1).cumulativeReached).toBe(reach.totals.reached + 1);
    const bad = await call(h, 'GET', `/v1/policies/${f.policyId}/reach/timeline?bucket=week`, undefined, 400);
    expect(JSON.stringify(bad)).toContain('bucket');
    await call(h, 'GET', `/v1/policies/999999999/reach/timeline`, undefined, 404);
  });

  it('catches up with changes before answering', async () => {
    const f = await seedReachFixture(h.t.db);
    await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200);
    await h.t.db.execute(sql`update deliveries set status = 'delivered', sent_at = now() where id = ${f.deliveries.e3email}`);
    const reach = await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200);
    expect(reach.totals).toMatchObject({ delivered: 4, reached: 5, reachRate: 0.625 });
  });

  it('reports per department, category and time range, and agrees with the policies it adds up', async () => {
    const a = await seedReachFixture(h.t.db, { publishAt: new Date('2025-03-05T00:00:00Z') });
    const b = await seedReachFixture(h.t.db, { departmentId: a.departmentId, publishAt: new Date('2025-04-05T00:00:00Z') });
    const [child] = rowsOf<{ id: string }>(
      await h.t.db.execute(
        sql`insert into categories (code, name_zh, name_en, parent_id) values ('reach-child', '子类', 'Child', ${a.categoryId}) returning id`,
      ),
    );
    const c = await seedReachFixture(h.t.db, { categoryId: Number(child.id), publishAt: new Date('2025-03-20T00:00:00Z') });
    await h.t.db.execute(sql`update deliveries set status = 'delivered' where id = ${b.deliveries.e7email}`);

    const sumOf = async (ids: number[]) => {
      const parts = await Promise.all(ids.map((id) => call(h, 'GET', `/v1/policies/${id}/reach`, undefined, 200)));
      const keys = ['targeted', 'addressable', 'withDelivery', 'sent', 'delivered', 'reached', 'engaged'] as const;
      return Object.fromEntries(keys.map((k) => [k, parts.reduce((n, p) => n + p.totals[k], 0)]));
    };

    const dept = await call(h, 'GET', `/v1/reports/reach?departmentId=${a.departmentId}`, undefined, 200);
    expect(dept).toMatchObject({ policies: 2, upToDate: true, filter: { departmentId: String(a.departmentId), categoryId: null } });
    expect(dept.totals).toMatchObject(await sumOf([a.policyId, b.policyId]));
    expect(dept.totals).toMatchObject({ ...stages(16, 14, 10, 7, 8, 6), reachRate: 0.5, awareness: 0.375 });
    expect(dept.byDepartment).toEqual([
      { departmentId: String(a.departmentId), code: expect.any(String), nameZh: '测试局', nameEn: 'Test Bureau', ...dept.totals },
    ]);
    expect(dept.failures).toEqual([
      { channel: 'sms', errorCode: '30005', deliveries: 2 },
      { channel: 'wechat', errorCode: '43004', deliveries: 2 },
    ]);

    // The parent category covers its child; March only.
    const march = await call(
      h,
      'GET',
      `/v1/reports/reach?categoryId=${a.categoryId}&from=2025-03-01T00:00:00Z&to=2025-04-01T00:00:00Z`,
      undefined,
      200,
    );
    expect(march.policies).toBe(2);
    expect(march.totals).toMatchObject(await sumOf([a.policyId, c.policyId]));
    expect(march.byCategory.map((x: any) => [x.categoryId, x.targeted]).sort()).toEqual(
      [
        [String(a.categoryId), 8],
        [String(child.id), 8],
      ].sort(),
    );
    expect(march.byCategory.find((x: any) => x.categoryId === String(child.id))).toMatchObject({ code: 'reach-child', nameZh: '子类' });

    const all = await call(h, 'GET', '/v1/reports/reach', undefined, 200);
    expect(all.policies).toBeGreaterThanOrEqual(5);
    const empty = await call(h, 'GET', '/v1/reports/reach?from=2040-01-01T00:00:00Z', undefined, 200);
    expect(empty).toMatchObject({ policies: 0, totals: { ...stages(0, 0, 0, 0, 0, 0), reachRate: null, awareness: null }, byChannel: [] });
  });

  it('refuses bad input with a 4xx and writes nothing', async () => {
    const f = await seedReachFixture(h.t.db);
    await call(h, 'GET', `/v1/policies/${f.policyId}/reach`, undefined, 200);
    // A change waits in the queue: a refused request must not even count it.
    await h.t.db.execute(sql`update deliveries set status = 'delivered' where id = ${f.deliveries.e7email}`);
    const before = await tableCounts(h.t);
    const refused: [string, number, string?][] = [
      ['/v1/policies/abc/reach', 400],
      ['/v1/policies/0/reach', 400],
      ['/v1/policies/999999999/reach', 404, 'not_found'],
      ['/v1/reports/reach?departmentId=x', 400],
      ['/v1/reports/reach?from=yesterday', 400],
      ['/v1/reports/reach?unknown=1', 400],
      ['/v1/reports/reach?departmentId=999999999', 422, 'unknown_department'],
      ['/v1/reports/reach?categoryId=999999999', 422, 'unknown_category'],
      ['/v1/reports/reach?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', 422, 'to_not_after_from'],
    ];
    for (const [url, status, code] of refused) {
      const res = await h.app.inject({ method: 'GET', url, headers: h.auth });
      expect(res.statusCode, url).toBe(status);
      if (code) expect(res.json().error.code, url).toBe(code);
    }
    expect((await h.app.inject({ method: 'GET', url: `/v1/policies/${f.policyId}/reach` })).statusCode).toBe(401);
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('documents the definitions in the OpenAPI description', async () => {
    const doc = (await h.app.inject({ url: '/openapi.json' })).json();
    const description = doc.paths['/v1/policies/{id}/reach'].get.description as string;
    expect(description).toContain('Email has no delivery receipt');
    expect(description).toContain('到達率');
    expect(doc.paths['/v1/reports/reach'].get.description).toBe(description);
  });

  it('lists the targeted enterprises not reached, with why, as pages and as CSV; names and addresses in full for admins only', async () => {
    const f = await seedReachFixture(h.t.db);
    // e10: matched but without a contact, as the fan-out records it.
    const [e10] = rowsOf<{ id: string }>(
      await h.t.db.execute(sql`insert into enterprises (credit_code, name, industry_section, district, size)
        values (${'GAP' + f.policyId}, '广州市无联系人科技有限公司', 'C', '440106', 'small') returning id`),
    );
    await h.t.db.execute(
      sql`insert into reach_unaddressable (policy_id, enterprise_id, reason) values (${f.policyId}, ${e10.id}, 'no_contact')`,
    );
    await h.t.db.execute(sql`insert into reach_dirty (policy_id, enterprise_id) values (${f.policyId}, ${e10.id})`);

    const gaps = await call(h, 'GET', `/v1/policies/${f.policyId}/reach/gaps`, undefined, 200);
    const byEnterprise = Object.fromEntries(gaps.items.map((g: any) => [g.enterpriseId, g]));
    // e1, e5 (merged into e1's delivered sms), e7 (email accepted) and e8 were reached.
    expect(Object.keys(byEnterprise).sort()).toEqual(
      [f.enterprises.e2, f.enterprises.e3, f.enterprises.e4, f.enterprises.e6, Number(e10.id)].map(String).sort(),
    );
    expect(byEnterprise[f.enterprises.e2]).toMatchObject({
      reason: 'failed',
      district: '440106',
      nameZh: '天河区',
      industrySection: 'C',
      enterpriseName: '企业e2',
      failures: [
        { channel: 'wechat', errorCode: '43004' },
        { channel: 'sms', errorCode: '30005' },
      ],
      contacts: [{ phone: '+8613800138000', email: 'e2@example.com', wechatOpenid: 'openid-fixture-e2' }],
    });
    expect(byEnterprise[f.enterprises.e3].reason).toBe('in_progress');
    expect(byEnterprise[f.enterprises.e4].reason).toBe('opted_out');
    expect(byEnterprise[f.enterprises.e6].reason).toBe('held');
    expect(byEnterprise[e10.id]).toMatchObject({ reason: 'no_contact', enterpriseName: '广州市无联系人科技有限公司', contacts: [] });

    // Pages follow the cursor to the same list.
    const first = await call(h, 'GET', `/v1/policies/${f.policyId}/reach/gaps?limit=3`, undefined, 200);
    const second = await call(h, 'GET', `/v1/policies/${f.policyId}/reach/gaps?limit=3&cursor=${first.nextCursor}`, undefined, 200);
    expect([...first.items, ...second.items]).toEqual(gaps.items);
    expect(second.nextCursor).toBeNull();

    // CSV, by the query or by the Accept header.
    for (const req of [
      { url: `/v1/policies/${f.policyId}/reach/gaps?format=csv`, headers: h.auth },
      { url: `/v1/policies/${f.policyId}/reach/gaps`, headers: { ...h.auth, accept: 'text/csv' } },
    ]) {
      const res = await h.app.inject({ method: 'GET', ...req });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/csv');
      const lines = res.body
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\r\n');
      expect(lines[0]).toBe(
        'policy_id,enterprise_id,credit_code,enterprise_name,district,district_name,industry_section,size,reason,failures,deliveries,contacts',
      );
      expect(lines).toHaveLength(6);
      expect(lines.find((l) => l.startsWith(`${f.policyId},${f.enterprises.e2},`))).toContain('wechat:43004; sms:30005');
    }

    // A publisher of the department sees its policy's gaps masked; of another department, nothing.
    const publisher = await keyHeaders(h, { role: 'publisher', departmentIds: [f.departmentId] });
    const masked = (await h.app.inject({ method: 'GET', url: `/v1/policies/${f.policyId}/reach/gaps`, headers: publisher })).json();
    const e2 = masked.items.find((g: any) => g.enterpriseId === String(f.enterprises.e2));
    expect(e2.contacts).toEqual([
      { contactId: expect.any(String), phone: '+86138****8000', email: 'e***@example.com', wechatOpenid: 'open****e-e2' },
    ]);
    expect(masked.items.find((g: any) => g.enterpriseId === String(e10.id)).enterpriseName).toBe('广州****公司');
    const maskedCsv = await h.app.inject({ method: 'GET', url: `/v1/policies/${f.policyId}/reach/gaps?format=csv`, headers: publisher });
    expect(maskedCsv.body).not.toContain('+8613800138000');
    expect(maskedCsv.body).not.toContain('无联系人科技');
    const ops = await keyHeaders(h, { role: 'ops' });
    const opsAnswer = (await h.app.inject({ method: 'GET', url: `/v1/policies/${f.policyId}/reach/gaps`, headers: ops })).json();
    expect(opsAnswer.items).toEqual(masked.items);
    const other = await keyHeaders(h, { role: 'publisher', departmentIds: [Number((await seedReachFixture(h.t.db)).departmentId)] });
    expect((await h.app.inject({ method: 'GET', url: `/v1/policies/${f.policyId}/reach/gaps`, headers: other })).statusCode).toBe(404);

    // The same per department over a time range.
    const report = await call(h, 'GET', `/v1/reports/reach/gaps?departmentId=${f.departmentId}&from=2000-01-01T00:00:00Z`, undefined, 200);
    expect(report.items).toEqual(gaps.items);
    const none = await call(h, 'GET', `/v1/reports/reach/gaps?departmentId=${f.departmentId}&from=2090-01-01T00:00:00Z`, undefined, 200);
    expect(none).toMatchObject({ items: [], nextCursor: null });
    const refused = await h.app.inject({ method: 'GET', url: `/v1/reports/reach/gaps?departmentId=${f.departmentId}`, headers: other });
    expect(refused.statusCode).toBe(422);
    for (const url of [`/v1/policies/${f.policyId}/reach/gaps?cursor=x`, `/v1/policies/${f.policyId}/reach/gaps?format=xml`]) {
      expect((await h.app.inject({ method: 'GET', url, headers: h.auth })).statusCode, url).toBe(400);
    }
  });
});
