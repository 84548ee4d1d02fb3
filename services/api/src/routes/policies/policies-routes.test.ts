import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, policyBody, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

describe('policies', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  let group: { id: string };
  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [{ phone: '13800138000' }, { email: 'x@example.com', channels: ['email'] }]);
    group = await call(
      h,
      'POST',
      '/v1/service-groups',
      { departmentId: world.department.id, name: '天河', rule: { districts: { any: ['440106'] } } },
      201,
    );
  });
  afterAll(() => h.close());

  const body = (extra: Record<string, unknown> = {}) => policyBody(world.department.id, world.category.id, extra);
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'POST', url: '/v1/policies', headers: { ...h.auth, ...headers }, payload: payload as object });

  it('previews the audience per channel with a sample and why each matched, writing nothing', async () => {
    const before = await tableCounts(h.t);
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      headers: h.auth,
      payload: body({ audience: { groupIds: [group.id] } }),
    });
    expect(res.statusCode).toBe(200);
    const preview = res.json();
    expect(preview).toMatchObject({ enterprises: 2, contacts: 2, deliveries: 2, byChannel: { wechat: 0, sms: 1, email: 1 }, held: 0 });
    expect(preview.sample[0].why).toEqual({ categories: [world.category.id.length ? expect.any(String) : ''], groups: ['天河'] });
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('refuses every bad input with a stable code and the field, and writes nothing', async () => {
    await post(body({ docNumber: 'TAKEN-1' }));
    const before = await tableCounts(h.t);
    const past = new Date(Date.now() - 60_000).toISOString();
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ ...body(), surprise: true }, 400, 'invalid_request', 'surprise'],
      [{ ...body(), title: 42 }, 400, 'invalid_request', 'title'],
      [{ ...body(), categoryIds: [] }, 400, 'invalid_request', 'categoryIds'],
      [{ ...body(), url: 'javascript:alert(1)' }, 400, 'invalid_request', 'url'],
      [body({ departmentId: '999999' }), 422, 'unknown_department', 'departmentId'],
      [body({ categoryIds: ['999999'] }), 422, 'unknown_category', 'categoryIds.0'],
      [body({ audience: { groupIds: ['999999'] } }), 422, 'unknown_group', 'audience.groupIds.0'],
      [body({ audience: { rule: { districts: { any: [] } } } }), 422, 'empty_list', 'audience.rule.districts.any'],
      [body({ audience: { rule: { sizes: { all: ['small'] } } } }), 422, 'all_not_allowed', 'audience.rule.sizes.all'],
      [body({ audience: { rule: { districts: { any: ['110101'] } } } }), 422, 'unknown_district', 'audience.rule.districts.any.0'],
      [body({ publishAt: past }), 422, 'publish_at_in_past', 'publishAt'],
      [body({ docNumber: 'TAKEN-1' }), 409, 'duplicate_doc_number', 'docNumber'],
    ];
    for (const [payload, status, code, path] of cases) {
      const res = await post(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      const error = res.json().error;
      expect(
        error.fields.map((f: { path: string }) => f.path),
        res.body,
      ).toContain(path);
      expect(status === 400 ? error.code : error.fields.find((f: { path: string }) => f.path === path).code).toBe(code);
    }
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('schedules a policy with publishAt in the future', async () => {
    const publishAt = new Date(Date.now() + 3_600_000).toISOString();
    const { policy, push } = (await post(body({ publishAt }))).json();
    expect(policy.status).toBe('scheduled');
    expect(push.startAt).toBe(publishAt);
  });

  it('answers a repeated Idempotency-Key with the first answer, and refuses it with another body', async () => {
    const payload = body();
    const first = await post(payload, { 'idempotency-key': 'publish-once' });
    expect(first.statusCode).toBe(202);
    const counts = await tableCounts(h.t);
    const again = await post({ ...payload }, { 'idempotency-key': 'publish-once' });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(first.json());
    expect(await tableCounts(h.t)).toEqual(counts);
    const other = await post(body(), { 'idempotency-key': 'publish-once' });
    expect(other.statusCode).toBe(422);
    expect(other.json().error.code).toBe('idempotency_key_reused');
    expect(await tableCounts(h.t)).toEqual(counts);
  });

  it('reads, lists and reports push progress; 404 for unknown ids', async () => {
    const { policy } = (await post(body())).json();
    expect((await call(h, 'GET', `/v1/policies/${policy.id}`, undefined, 200)).docNumber).toBe(policy.docNumber);
    const list = await call(h, 'GET', '/v1/policies?limit=1', undefined, 200);
    expect(list.items[0].id).toBe(policy.id);
    expect(list.nextCursor).toBe(policy.id);
    const progress = await call(h, 'GET', `/v1/policies/${policy.id}/push`, undefined, 200);
    expect(progress).toMatchObject({ policyId: policy.id, version: 1, status: 'fanning_out', done: false });
    expect((await h.app.inject({ url: '/v1/policies/999999', headers: h.auth })).statusCode).toBe(404);
    expect((await h.app.inject({ url: '/v1/policies/abc', headers: h.auth })).statusCode).toBe(400);
  });
});
