import { policies } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, tableCounts, type TestApp } from '../../../test/helpers';

describe('categories', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(() => h.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    h.app.inject({ method, url: `/v1${url}`, headers: h.auth, payload });
  const create = async (code: string, parentId: string | null = null) => {
    const res = await call('POST', '/categories', { code, parentId, nameZh: `类别${code}`, nameEn: `Category ${code}` });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; code: string; parentId: string | null };
  };
  /** Sends a request that must be refused, and proves it wrote nothing. */
  async function refused(
    method: 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload: object | undefined,
    status: number,
    code: string,
    path: string,
  ) {
    const before = await tableCounts(h.t);
    const res = await call(method, url, payload);
    expect(res.statusCode, res.body).toBe(status);
    if (status !== 400) expect(res.json().error.code).toBe(code);
    expect(res.json().error.fields).toContainEqual({ path, code });
    expect(await tableCounts(h.t)).toEqual(before);
  }

  it('creates, reads, lists, updates and deletes', async () => {
    const root = await create('hp-root');
    const child = await create('hp-child', root.id);
    expect(root).toMatchObject({ code: 'hp-root', parentId: null, nameZh: '类别hp-root', nameEn: 'Category hp-root' });
    expect(child.parentId).toBe(root.id);
    expect(typeof root.id).toBe('string');

    expect((await call('GET', `/categories/${child.id}`)).json()).toEqual(child);

    const first = (await call('GET', '/categories?limit=1')).json();
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toBe(first.items[0].id);
    const rest = (await call('GET', `/categories?limit=500&cursor=${first.nextCursor}`)).json();
    expect(rest.items.map((c: { id: string }) => c.id)).not.toContain(first.items[0].id);
    expect(rest.nextCursor).toBeNull();
    expect([...first.items, ...rest.items].map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining([root.id, child.id]));

    const children = (await call('GET', `/categories?parentId=${root.id}`)).json();
    expect(children).toEqual({ items: [child], nextCursor: null });

    const patched = await call('PATCH', `/categories/${child.id}`, { nameEn: 'Child', parentId: null });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: child.id, nameEn: 'Child', parentId: null, code: 'hp-child' });
    const reparented = await call('PATCH', `/categories/${child.id}`, { parentId: root.id });
    expect(reparented.json().parentId).toBe(root.id);

    expect((await call('DELETE', `/categories/${child.id}`)).statusCode).toBe(204);
    expect((await call('DELETE', `/categories/${root.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/categories/${root.id}`)).statusCode).toBe(404);
  });

  it('refuses malformed bodies with 400 and writes nothing', async () => {
    const body = { code: 'bad-one', nameZh: '坏', nameEn: 'Bad' };
    await refused('POST', '/categories', { ...body, extra: 1 }, 400, 'unknown_field', 'extra');
    await refused('POST', '/categories', { ...body, code: 'Not A Code' }, 400, 'pattern', 'code');
    await refused('POST', '/categories', { ...body, parentId: 5 }, 400, 'type', 'parentId');
    await refused('POST', '/categories', { code: 'x-y' }, 400, 'required', 'nameZh');
    const c = await create('bad-target');
    const res = await call('PATCH', `/categories/${c.id}`, {});
    expect(res.statusCode).toBe(400);
  });

  it('refuses an unknown parent with 422 unknown_category', async () => {
    await refused(
      'POST',
      '/categories',
      { code: 'orphan', parentId: '999999', nameZh: '孤', nameEn: 'Orphan' },
      422,
      'unknown_category',
      'parentId',
    );
    const c = await create('wants-parent');
    await refused('PATCH', `/categories/${c.id}`, { parentId: '999999' }, 422, 'unknown_category', 'parentId');
  });

  it('refuses a parent cycle with 422 category_cycle', async () => {
    const a = await create('cy-a');
    const b = await create('cy-b', a.id);
    const c = await create('cy-c', b.id);
    await refused('PATCH', `/categories/${a.id}`, { parentId: c.id }, 422, 'category_cycle', 'parentId');
    await refused('PATCH', `/categories/${a.id}`, { parentId: a.id }, 422, 'category_cycle', 'parentId');
    await refused('PATCH', `/categories/${b.id}`, { parentId: c.id, nameEn: 'renamed' }, 422, 'category_cycle', 'parentId');
    expect((await call('GET', `/categories/${b.id}`)).json()).toMatchObject({ parentId: a.id, nameEn: 'Category cy-b' });
    // Moving a subtree somewhere that is not below itself is fine.
    const other = await create('cy-other');
    expect((await call('PATCH', `/categories/${b.id}`, { parentId: other.id })).statusCode).toBe(200);
  });

  it('refuses a duplicate code with 409', async () => {
    const a = await create('dup-a');
    await create('dup-b');
    await refused('POST', '/categories', { code: 'dup-a', nameZh: '重', nameEn: 'Dup' }, 409, 'duplicate_code', 'code');
    await refused('PATCH', `/categories/${a.id}`, { code: 'dup-b' }, 409, 'duplicate_code', 'code');
  });

  it('refuses to delete a category in use with 409 in_use', async () => {
    const parent = await create('use-parent');
    await create('use-child', parent.id);
    await refused('DELETE', `/categories/${parent.id}`, undefined, 409, 'in_use', 'id');

    const named = await create('use-named');
    const ent = await h.app.inject({
      method: 'POST',
      url: '/v1/enterprises',
      headers: h.auth,
      payload: { creditCode: '91350100M000100Y43', name: '测试', industry: { section: 'C' }, district: '440106', size: 'small' },
    });
    const sub = await call('POST', '/subscriptions', { enterpriseId: ent.json().id, categoryIds: [named.id] });
    expect(sub.statusCode, sub.body).toBe(201);
    await refused('DELETE', `/categories/${named.id}`, undefined, 409, 'in_use', 'id');

    const onPolicy = await create('use-policy');
    const dept = await call('POST', '/departments', { code: 'use-dept', nameZh: '部门', nameEn: 'Dept', smsSignature: '测试' });
    await h.t.db.insert(policies).values({
      departmentId: Number(dept.json().id),
      docNumber: 'T-1',
      title: 't',
      summary: 's',
      url: 'https://example.org/p',
      categoryIds: [Number(onPolicy.id)],
    });
    await refused('DELETE', `/categories/${onPolicy.id}`, undefined, 409, 'in_use', 'id');
  });

  it('answers 404 for an unknown id', async () => {
    for (const [method, payload] of [['GET'], ['PATCH', { nameEn: 'x' }], ['DELETE']] as const) {
      const res = await call(method, '/categories/987654', payload);
      expect(res.statusCode, method).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });
});
