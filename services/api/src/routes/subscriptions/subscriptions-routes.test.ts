import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, expectRefused } from '../../../test/helpers';

describe('subscriptions', () => {
  let h: TestApp;
  let enterpriseId: string;
  let otherEnterpriseId: string;
  let categoryIds: string[];
  let departmentId: string;

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    h.app.inject({ method, url: `/v1${url}`, headers: h.auth, payload });
  const idOf = async (res: Promise<{ statusCode: number; body: string; json(): { id: string } }>) => {
    const r = await res;
    expect(r.statusCode, r.body).toBe(201);
    return r.json().id;
  };

  beforeAll(async () => {
    h = await buildTestApp();
    const enterprise = (creditCode: string) =>
      call('POST', '/enterprises', { creditCode, name: '订阅测试', industry: { section: 'C' }, district: '440106', size: 'small' });
    enterpriseId = await idOf(enterprise('91350100M000100Y43'));
    otherEnterpriseId = await idOf(enterprise('9144030071526726XG'));
    const parent = await idOf(call('POST', '/categories', { code: 'sub-relief', nameZh: '纾困', nameEn: 'Relief' }));
    const child = await idOf(call('POST', '/categories', { code: 'sub-rent', parentId: parent, nameZh: '租金', nameEn: 'Rent' }));
    categoryIds = [parent, child];
    departmentId = await idOf(
      call('POST', '/departments', { code: 'sub-dept', nameZh: '发改委', nameEn: 'DRC', smsSignature: '广州发改' }),
    );
  });
  afterAll(() => h.close());

  const create = async (payload: object) => {
    const res = await call('POST', '/subscriptions', payload);
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const refused = (method: 'POST' | 'PATCH' | 'PUT', url: string, payload: object, status: number, code: string, path: string) =>
    expectRefused(h, method, `/v1${url}`, payload, status, code, path);

  it('creates with defaults, reads, updates and deletes', async () => {
    const s = await create({ enterpriseId, categoryIds });
    expect(s).toMatchObject({ enterpriseId, categoryIds, departmentIds: [], channels: [], frequency: 'immediate', active: true });
    expect((await call('GET', `/subscriptions/${s.id}`)).json()).toEqual(s);

    const full = await create({
      enterpriseId,
      departmentIds: [departmentId],
      channels: ['sms', 'wechat'],
      frequency: 'weekly',
      active: false,
    });
    expect(full).toMatchObject({
      categoryIds: [],
      departmentIds: [departmentId],
      channels: ['sms', 'wechat'],
      frequency: 'weekly',
      active: false,
    });

    const patched = await call('PATCH', `/subscriptions/${s.id}`, { frequency: 'daily', departmentIds: [departmentId], categoryIds: [] });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id: s.id, enterpriseId, categoryIds: [], departmentIds: [departmentId], frequency: 'daily' });

    expect((await call('DELETE', `/subscriptions/${s.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/subscriptions/${s.id}`)).statusCode).toBe(404);
  });

  it('lists by id with a cursor, filtered by enterprise', async () => {
    const mine = [
      await create({ enterpriseId, categoryIds: [categoryIds[0]] }),
      await create({ enterpriseId, categoryIds: [categoryIds[1]] }),
    ];
    const theirs = await create({ enterpriseId: otherEnterpriseId, departmentIds: [departmentId] });

    expect((await call('GET', `/subscriptions?enterpriseId=${otherEnterpriseId}`)).json()).toEqual({ items: [theirs], nextCursor: null });

    const seen: string[] = [];
    let cursor = '';
    do {
      const res = (await call('GET', `/subscriptions?enterpriseId=${enterpriseId}&limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json();
      seen.push(...res.items.map((s: { id: string; enterpriseId: string }) => s.id));
      for (const s of res.items) expect(s.enterpriseId).toBe(enterpriseId);
      cursor = res.nextCursor ?? '';
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining(mine.map((s) => s.id)));
    expect(seen).toEqual([...seen].sort((a, b) => Number(a) - Number(b)));

    const all = (await call('GET', '/subscriptions?limit=500')).json();
    expect(all.items.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining([...seen, theirs.id]));
  });

  it('refuses a subscription to nothing with 422 empty_subscription', async () => {
    await refused('POST', '/subscriptions', { enterpriseId }, 422, 'empty_subscription', 'categoryIds');
    await refused(
      'POST',
      '/subscriptions',
      { enterpriseId, categoryIds: [], departmentIds: [] },
      422,
      'empty_subscription',
      'departmentIds',
    );
    const s = await create({ enterpriseId, categoryIds: [categoryIds[0]] });
    await refused('PATCH', `/subscriptions/${s.id}`, { categoryIds: [] }, 422, 'empty_subscription', 'categoryIds');
    expect((await call('PATCH', `/subscriptions/${s.id}`, { categoryIds: [], departmentIds: [departmentId] })).statusCode).toBe(200);
  });

  it('refuses unknown references with 422 naming each one', async () => {
    await refused('POST', '/subscriptions', { enterpriseId: '987654', categoryIds }, 422, 'unknown_enterprise', 'enterpriseId');
    await refused(
      'POST',
      '/subscriptions',
      { enterpriseId, categoryIds: [categoryIds[0], '987654'] },
      422,
      'unknown_category',
      'categoryIds.1',
    );
    await refused('POST', '/subscriptions', { enterpriseId, departmentIds: ['987654'] }, 422, 'unknown_department', 'departmentIds.0');

    const res = await call('POST', '/subscriptions', {
      enterpriseId: '987654',
      categoryIds: ['987650', categoryIds[1], '987651'],
      departmentIds: ['987652'],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toEqual([
      { path: 'enterpriseId', code: 'unknown_enterprise' },
      { path: 'categoryIds.0', code: 'unknown_category' },
      { path: 'categoryIds.2', code: 'unknown_category' },
      { path: 'departmentIds.0', code: 'unknown_department' },
    ]);

    const s = await create({ enterpriseId, categoryIds });
    await refused('PATCH', `/subscriptions/${s.id}`, { categoryIds: ['987654'] }, 422, 'unknown_category', 'categoryIds.0');
    await refused(
      'PATCH',
      `/subscriptions/${s.id}`,
      { departmentIds: [departmentId, '987654'] },
      422,
      'unknown_department',
      'departmentIds.1',
    );
  });

  it('refuses malformed bodies with 400', async () => {
    await refused('POST', '/subscriptions', { enterpriseId, categoryIds, frequency: 'hourly' }, 400, 'anyOf', 'frequency');
    await refused(
      'POST',
      '/subscriptions',
      { enterpriseId, categoryIds: [categoryIds[0], categoryIds[0]] },
      400,
      'uniqueItems',
      'categoryIds',
    );
    await refused('POST', '/subscriptions', { enterpriseId, categoryIds: [1] }, 400, 'type', 'categoryIds.0');
    await refused('POST', '/subscriptions', { enterpriseId, categoryIds, channels: ['sms', 'sms'] }, 400, 'uniqueItems', 'channels');
    await refused('POST', '/subscriptions', { categoryIds }, 400, 'required', 'enterpriseId');
    const s = await create({ enterpriseId, categoryIds });
    await refused('PATCH', `/subscriptions/${s.id}`, { enterpriseId: otherEnterpriseId }, 400, 'unknown_field', 'enterpriseId');
    await refused('PATCH', `/subscriptions/${s.id}`, {}, 400, 'minProperties', 'body');
  });

  it('answers 404 for an unknown id', async () => {
    for (const [method, payload] of [['GET'], ['PATCH', { active: false }], ['DELETE']] as const) {
      const res = await call(method, '/subscriptions/987654', payload);
      expect(res.statusCode, method).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });
});
