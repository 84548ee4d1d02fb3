import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, tableCounts, type TestApp } from '../../../test/helpers';

describe('departments', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(() => h.close());

  const body = { code: 'gz-test', nameZh: '测试局', nameEn: 'Test Bureau', smsSignature: '广州测试' };

  it('creates, reads, lists, updates and deletes', async () => {
    const created = await h.app.inject({ method: 'POST', url: '/v1/departments', headers: h.auth, payload: body });
    expect(created.statusCode).toBe(201);
    const dept = created.json();
    expect(dept).toMatchObject({ ...body, wechatTemplate: null });
    expect(typeof dept.id).toBe('string');

    const read = await h.app.inject({ url: `/v1/departments/${dept.id}`, headers: h.auth });
    expect(read.json().code).toBe('gz-test');

    const list = await h.app.inject({ url: '/v1/departments?limit=1', headers: h.auth });
    expect(list.json()).toEqual({ items: [dept], nextCursor: null });

    const patched = await h.app.inject({
      method: 'PATCH',
      url: `/v1/departments/${dept.id}`,
      headers: h.auth,
      payload: { nameEn: 'Testing Bureau' },
    });
    expect(patched.json().nameEn).toBe('Testing Bureau');

    const del = await h.app.inject({ method: 'DELETE', url: `/v1/departments/${dept.id}`, headers: h.auth });
    expect(del.statusCode).toBe(204);
    expect((await h.app.inject({ url: `/v1/departments/${dept.id}`, headers: h.auth })).statusCode).toBe(404);
  });

  it('refuses bad input with a named field and writes nothing', async () => {
    const before = await tableCounts(h.t);
    const cases: [unknown, number, string][] = [
      [{ ...body, extra: 1 }, 400, 'extra'],
      [{ ...body, nameZh: 5 }, 400, 'nameZh'],
      [{ ...body, code: 'Bad Code' }, 400, 'code'],
      [{ nameZh: 'x' }, 400, 'code'],
    ];
    for (const [payload, status, path] of cases) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/departments', headers: h.auth, payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(res.json().error.fields.map((f: { path: string }) => f.path)).toContain(path);
    }
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('refuses a duplicate code with 409', async () => {
    await h.app.inject({ method: 'POST', url: '/v1/departments', headers: h.auth, payload: { ...body, code: 'gz-dup' } });
    const res = await h.app.inject({ method: 'POST', url: '/v1/departments', headers: h.auth, payload: { ...body, code: 'gz-dup' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'duplicate_code', fields: [{ path: 'code', code: 'duplicate_code' }] });
  });

  it('needs an API key', async () => {
    expect((await h.app.inject({ url: '/v1/departments' })).statusCode).toBe(401);
    const res = await h.app.inject({ url: '/v1/departments', headers: { authorization: 'Bearer pp_notarealkeyatallnotarealkey' } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
  });
});
