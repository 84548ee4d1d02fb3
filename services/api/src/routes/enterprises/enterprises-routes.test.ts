import { generateCreditCode } from '@policy-push/core';
import { serviceGroupMembers } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, tableCounts, type TestApp, expectRefused } from '../../../test/helpers';

// A seeded source, so generated credit codes are the same on every run.
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}
const nextCode = (() => {
  const random = seeded(42);
  return () => generateCreditCode(random);
})();

describe('enterprises', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(() => h.close());

  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    h.app.inject({ method, url: `/v1${url}`, headers: h.auth, payload });
  const body = (over: object = {}) => ({
    creditCode: nextCode(),
    name: '广州测试科技有限公司',
    industry: { section: 'I', division: '65' },
    district: '440106',
    size: 'small',
    tags: ['高新技术企业'],
    ...over,
  });
  const create = async (over: object = {}) => {
    const res = await call('POST', '/enterprises', body(over));
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const refused = (method: 'POST' | 'PATCH' | 'PUT', url: string, payload: object, status: number, code: string, path: string) =>
    expectRefused(h, method, `/v1${url}`, payload, status, code, path);

  it('creates with a normalised credit code and clean tags, reads, updates and deletes', async () => {
    // Full-width, lower case and padded, as pasted from a document.
    const pasted = ' ９１３５０１００ｍ０００１００ｙ４３ ';
    const created = await create({ creditCode: pasted, tags: [' 规上工业 ', '高新技术企业', '规上工业'] });
    expect(created).toMatchObject({
      creditCode: '91350100M000100Y43',
      industry: { section: 'I', division: '65' },
      district: '440106',
      size: 'small',
      tags: ['规上工业', '高新技术企业'],
    });
    expect(typeof created.id).toBe('string');
    expect((await call('GET', `/enterprises/${created.id}`)).json()).toEqual(created);

    const noDivision = await create({ industry: { section: 'C' }, tags: undefined });
    expect(noDivision.industry).toEqual({ section: 'C', division: null });
    expect(noDivision.tags).toEqual([]);

    const patched = await call('PATCH', `/enterprises/${created.id}`, { industry: { section: 'C' }, size: 'medium', tags: [] });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      industry: { section: 'C', division: null },
      size: 'medium',
      tags: [],
      creditCode: '91350100M000100Y43',
    });
    expect(Date.parse(patched.json().updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));

    expect((await call('DELETE', `/enterprises/${noDivision.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/enterprises/${noDivision.id}`)).statusCode).toBe(404);
  });

  it('lists by id with a cursor, filtered by district, size, industry and tag', async () => {
    const mark = `filter-${Date.now()}`;
    const a = await create({ district: '440103', size: 'micro', industry: { section: 'F' }, tags: [mark, 'a'] });
    const b = await create({ district: '440103', size: 'large', industry: { section: 'F', division: '52' }, tags: [mark] });
    const c = await create({ district: '440105', size: 'micro', industry: { section: 'G' }, tags: [mark, 'a'] });
    const ids = (res: { json(): { items: { id: string }[] } }) => res.json().items.map((e) => e.id);

    expect(ids(await call('GET', `/enterprises?tag=${mark}`))).toEqual([a.id, b.id, c.id]);
    expect(ids(await call('GET', `/enterprises?tag=${mark}&district=440103`))).toEqual([a.id, b.id]);
    expect(ids(await call('GET', `/enterprises?tag=${mark}&size=micro`))).toEqual([a.id, c.id]);
    expect(ids(await call('GET', `/enterprises?tag=${mark}&industry=F`))).toEqual([a.id, b.id]);
    expect(ids(await call('GET', `/enterprises?tag=${mark}&industry=F&size=micro&district=440103`))).toEqual([a.id]);
    expect(ids(await call('GET', `/enterprises?tag=a&district=440105`))).toEqual([c.id]);

    const first = (await call('GET', `/enterprises?tag=${mark}&limit=2`)).json();
    expect(first.items.map((e: { id: string }) => e.id)).toEqual([a.id, b.id]);
    expect(first.nextCursor).toBe(b.id);
    const second = (await call('GET', `/enterprises?tag=${mark}&limit=2&cursor=${first.nextCursor}`)).json();
    expect(second).toEqual({ items: [c], nextCursor: null });

    const bad = await call('GET', '/enterprises?industry=manufacturing');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.fields).toContainEqual({ path: 'querystring.industry', code: 'pattern' });
  });

  it('refuses values outside the reference data with 422 and the field path', async () => {
    await refused('POST', '/enterprises', body({ creditCode: '91350100M000100Y44' }), 422, 'invalid_credit_code', 'creditCode');
    await refused('POST', '/enterprises', body({ creditCode: 'ABC' }), 422, 'invalid_credit_code', 'creditCode');
    await refused('POST', '/enterprises', body({ industry: { section: 'Z' } }), 422, 'unknown_industry', 'industry.section');
    await refused(
      'POST',
      '/enterprises',
      body({ industry: { section: 'C', division: '65' } }),
      422,
      'division_outside_section',
      'industry.division',
    );
    await refused(
      'POST',
      '/enterprises',
      body({ industry: { section: 'T', division: '99' } }),
      422,
      'division_outside_section',
      'industry.division',
    );
    await refused('POST', '/enterprises', body({ district: '110101' }), 422, 'unknown_district', 'district');
    await refused('POST', '/enterprises', body({ size: 'huge' }), 422, 'unknown_size', 'size');
    await refused('POST', '/enterprises', body({ tags: ['ok', '   '] }), 422, 'invalid_tag', 'tags.1');

    const e = await create();
    await refused('PATCH', `/enterprises/${e.id}`, { district: '440199' }, 422, 'unknown_district', 'district');
    await refused('PATCH', `/enterprises/${e.id}`, { creditCode: '9144030071526726X0' }, 422, 'invalid_credit_code', 'creditCode');
  });

  it('reports every problem of a request at once', async () => {
    const res = await call('POST', '/enterprises', body({ creditCode: 'nope', district: '000000', size: 'giant' }));
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('invalid_credit_code');
    expect(res.json().error.fields).toEqual([
      { path: 'creditCode', code: 'invalid_credit_code' },
      { path: 'district', code: 'unknown_district' },
      { path: 'size', code: 'unknown_size' },
    ]);
  });

  it('refuses malformed bodies with 400', async () => {
    await refused('POST', '/enterprises', body({ extra: true }), 400, 'unknown_field', 'extra');
    await refused('POST', '/enterprises', body({ industry: { section: 'c' } }), 400, 'pattern', 'industry.section');
    await refused('POST', '/enterprises', body({ industry: { section: 'C', division: '6' } }), 400, 'pattern', 'industry.division');
    await refused('POST', '/enterprises', body({ industry: { section: 'C', extra: 1 } }), 400, 'unknown_field', 'industry.extra');
    await refused('POST', '/enterprises', body({ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }), 400, 'maxItems', 'tags');
    await refused('POST', '/enterprises', body({ tags: ['x'.repeat(65)] }), 400, 'maxLength', 'tags.0');
    await refused('POST', '/enterprises', body({ tags: [''] }), 400, 'minLength', 'tags.0');
    await refused('POST', '/enterprises', body({ name: undefined }), 400, 'required', 'name');
    const e = await create();
    await refused('PATCH', `/enterprises/${e.id}`, {}, 400, 'minProperties', 'body');
  });

  it('refuses a duplicate credit code with 409, also after normalisation', async () => {
    const code = nextCode();
    const e = await create({ creditCode: code });
    await refused('POST', '/enterprises', body({ creditCode: code.toLowerCase() }), 409, 'duplicate_credit_code', 'creditCode');
    const other = await create();
    await refused('PATCH', `/enterprises/${other.id}`, { creditCode: ` ${code} ` }, 409, 'duplicate_credit_code', 'creditCode');
    expect((await call('PATCH', `/enterprises/${e.id}`, { creditCode: code })).statusCode).toBe(200);
  });

  it('deletes its contacts, subscriptions and group memberships with it', async () => {
    const e = await create();
    const contact = await call('POST', `/enterprises/${e.id}/contacts`, { phone: '13800138000' });
    expect(contact.statusCode, contact.body).toBe(201);
    const dept = await call('POST', '/departments', { code: 'cascade-dept', nameZh: '部门', nameEn: 'Dept', smsSignature: '测试' });
    const sub = await call('POST', '/subscriptions', { enterpriseId: e.id, departmentIds: [dept.json().id] });
    expect(sub.statusCode, sub.body).toBe(201);
    const group = await call('POST', '/service-groups', { departmentId: dept.json().id, name: 'static' });
    expect((await call('PUT', `/service-groups/${group.json().id}/members`, { enterpriseIds: [e.id] })).statusCode).toBe(200);

    const before = await tableCounts(h.t);
    expect((await call('DELETE', `/enterprises/${e.id}`)).statusCode).toBe(204);
    const after = await tableCounts(h.t);
    expect(after.enterprises).toBe(before.enterprises - 1);
    expect(after.contacts).toBe(before.contacts - 1);
    expect(after.subscriptions).toBe(before.subscriptions - 1);
    expect(after.service_group_members).toBe(before.service_group_members - 1);
    expect(await h.t.db.select().from(serviceGroupMembers)).toEqual([]);
    expect((await call('GET', `/contacts/${contact.json().id}`)).statusCode).toBe(404);
  });

  it('answers 404 for an unknown id', async () => {
    for (const [method, payload] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
      const res = await call(method, '/enterprises/987654', payload);
      expect(res.statusCode, method).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });
});
