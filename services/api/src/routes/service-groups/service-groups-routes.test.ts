import { enterprises, policies, rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, tableCounts, type TestApp } from '../../../test/helpers';

describe('service groups', () => {
  let h: TestApp;
  let departmentId: string;
  let otherDepartmentId: string;
  let e: string[]; // enterprise ids

  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    h.app.inject({ method, url: `/v1${url}`, headers: h.auth, payload });

  beforeAll(async () => {
    h = await buildTestApp();
    const dept = (code: string) => call('POST', '/departments', { code, nameZh: '部门', nameEn: 'Dept', smsSignature: '测试' });
    departmentId = (await dept('sg-one')).json().id;
    otherDepartmentId = (await dept('sg-two')).json().id;
    // The routes are tested elsewhere; enterprises only need to exist here.
    const rows = await h.t.db
      .insert(enterprises)
      .values([1, 2, 3, 4].map((i) => ({ creditCode: `SG-${i}`, name: `E${i}`, industrySection: 'C', district: '440106', size: 'small' })))
      .returning({ id: enterprises.id });
    e = rows.map((r) => String(r.id));
  });
  afterAll(() => h.close());

  const rule = {
    industries: { any: ['C', '65'] },
    districts: { any: ['440106'] },
    sizes: { any: ['small', 'micro'] },
    tags: { any: ['高新技术企业'], all: ['规上工业'] },
  };
  const create = async (payload: object) => {
    const res = await call('POST', '/service-groups', { departmentId, name: 'group', ...payload });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  /** Sends a request that must be refused, and proves it wrote nothing. */
  async function refused(
    method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
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
  const members = async (groupId: string) => {
    const ids: string[] = [];
    let cursor = '';
    do {
      const res = await call('GET', `/service-groups/${groupId}/members?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      ids.push(...res.json().items);
      cursor = res.json().nextCursor ?? '';
    } while (cursor);
    return ids;
  };

  it('creates, reads, lists, updates and deletes a rule group', async () => {
    const g = await create({ name: '天河高新', description: '天河区的高新技术企业', rule });
    expect(g).toMatchObject({ departmentId, name: '天河高新', description: '天河区的高新技术企业', rule });
    expect((await call('GET', `/service-groups/${g.id}`)).json()).toEqual(g);

    const other = await create({ departmentId: otherDepartmentId, name: 'other' });
    expect(other).toMatchObject({ rule: null, description: null });
    expect((await call('GET', `/service-groups?departmentId=${otherDepartmentId}`)).json()).toEqual({ items: [other], nextCursor: null });
    const first = (await call('GET', '/service-groups?limit=1')).json();
    expect(first.items).toHaveLength(1);
    const next = (await call('GET', `/service-groups?limit=1&cursor=${first.nextCursor}`)).json();
    expect(Number(next.items[0].id)).toBeGreaterThan(Number(first.items[0].id));

    const patched = await call('PATCH', `/service-groups/${g.id}`, { rule: { sizes: { any: ['large'] } }, description: null });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ rule: { sizes: { any: ['large'] } }, description: null, name: '天河高新' });

    expect((await call('DELETE', `/service-groups/${g.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/service-groups/${g.id}`)).statusCode).toBe(404);
  });

  it('refuses a bad rule with 422, one field per problem under rule.', async () => {
    const cases: [object, string, string][] = [
      [{ industries: { all: ['C'] } }, 'all_not_allowed', 'rule.industries.all'],
      [{ districts: { any: ['440106'], all: ['440103'] } }, 'all_not_allowed', 'rule.districts.all'],
      [{ sizes: { all: ['small'] } }, 'all_not_allowed', 'rule.sizes.all'],
      [{ regions: { any: ['x'] } }, 'unknown_key', 'rule.regions'],
      [{ tags: { none: ['x'] } }, 'unknown_key', 'rule.tags.none'],
      [{ industries: { any: ['C'], some: ['D'] } }, 'unknown_key', 'rule.industries.some'],
      [{ districts: { any: [] } }, 'empty_list', 'rule.districts.any'],
      [{ districts: {} }, 'empty_list', 'rule.districts'],
      [{ tags: {} }, 'empty_list', 'rule.tags'],
      [{ industries: { any: ['C', 'Z9'] } }, 'unknown_industry', 'rule.industries.any.1'],
      [{ districts: { any: ['110101'] } }, 'unknown_district', 'rule.districts.any.0'],
      [{ sizes: { any: ['huge'] } }, 'unknown_size', 'rule.sizes.any.0'],
      [{ tags: { all: ['ok', ' '] } }, 'invalid_tag', 'rule.tags.all.1'],
      [{ tags: { any: ['x'.repeat(65)] } }, 'invalid_tag', 'rule.tags.any.0'],
    ];
    for (const [bad, code, path] of cases)
      await refused('POST', '/service-groups', { departmentId, name: 'bad', rule: bad }, 422, code, path);

    const g = await create({ rule });
    await refused(
      'PATCH',
      `/service-groups/${g.id}`,
      { rule: { industries: { all: ['C'] } } },
      422,
      'all_not_allowed',
      'rule.industries.all',
    );
    expect((await call('GET', `/service-groups/${g.id}`)).json().rule).toEqual(rule);
  });

  it('reports every rule problem at once', async () => {
    const res = await call('POST', '/service-groups', {
      departmentId: '987654',
      name: 'bad',
      rule: { sizes: { any: ['huge'] }, colour: {} },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toEqual([
      { path: 'departmentId', code: 'unknown_department' },
      { path: 'rule.sizes.any.0', code: 'unknown_size' },
      { path: 'rule.colour', code: 'unknown_key' },
    ]);
  });

  it('refuses wrong JSON types in a rule with 400', async () => {
    await refused(
      'POST',
      '/service-groups',
      { departmentId, name: 'bad', rule: { industries: { any: 'C' } } },
      400,
      'type',
      'rule.industries.any',
    );
    await refused('POST', '/service-groups', { departmentId, name: 'bad', rule: { tags: { all: [1] } } }, 400, 'type', 'rule.tags.all.0');
    await refused('POST', '/service-groups', { departmentId, name: 'bad', rule: ['C'] }, 400, 'type', 'rule');
  });

  it('refuses an unknown department with 422 and malformed bodies with 400', async () => {
    await refused('POST', '/service-groups', { departmentId: '987654', name: 'x' }, 422, 'unknown_department', 'departmentId');
    await refused('POST', '/service-groups', { departmentId, name: '' }, 400, 'minLength', 'name');
    await refused('POST', '/service-groups', { departmentId, name: 'x', members: [] }, 400, 'unknown_field', 'members');
    const g = await create({});
    await refused('PATCH', `/service-groups/${g.id}`, { departmentId: otherDepartmentId }, 400, 'unknown_field', 'departmentId');
    await refused('PATCH', `/service-groups/${g.id}`, {}, 400, 'minProperties', 'body');
  });

  it('replaces, adds, lists and removes the members of a static group', async () => {
    const g = await create({ name: 'static' });
    expect(await members(g.id)).toEqual([]);

    const put = await call('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: [e[2], e[0], e[2]] });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toEqual({ memberCount: 2 });
    expect(await members(g.id)).toEqual([e[0], e[2]]);

    const add = await call('POST', `/service-groups/${g.id}/members`, { enterpriseIds: [e[1], e[2], e[3]] });
    expect(add.json()).toEqual({ memberCount: 4 });
    expect(await members(g.id)).toEqual(e);

    expect((await call('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: [e[3], e[1]] })).json()).toEqual({ memberCount: 2 });
    expect(await members(g.id)).toEqual([e[1], e[3]]);

    expect((await call('DELETE', `/service-groups/${g.id}/members/${e[1]}`)).statusCode).toBe(204);
    expect((await call('DELETE', `/service-groups/${g.id}/members/${e[1]}`)).statusCode).toBe(404);
    expect(await members(g.id)).toEqual([e[3]]);

    expect((await call('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: [] })).json()).toEqual({ memberCount: 0 });
  });

  it('applies a member list all or nothing: unknown ids are 422 with their index', async () => {
    const g = await create({ name: 'atomic' });
    await call('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: [e[0]] });
    await refused(
      'PUT',
      `/service-groups/${g.id}/members`,
      { enterpriseIds: [e[1], '987654', e[2]] },
      422,
      'unknown_enterprise',
      'enterpriseIds.1',
    );
    await refused(
      'POST',
      `/service-groups/${g.id}/members`,
      { enterpriseIds: ['987654', e[1]] },
      422,
      'unknown_enterprise',
      'enterpriseIds.0',
    );
    expect(await members(g.id)).toEqual([e[0]]);

    const res = await call('PUT', `/service-groups/${g.id}/members`, {
      enterpriseIds: Array.from({ length: 150 }, (_, i) => String(900_000 + i)),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toHaveLength(100);
    expect(res.json().error.message).toContain('first 100 of 150');

    await refused('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: ['x'] }, 400, 'pattern', 'enterpriseIds.0');
    await refused('PUT', `/service-groups/${g.id}/members`, {}, 400, 'required', 'enterpriseIds');
  });

  it('refuses members on a rule group with 422 rule_group_has_no_members', async () => {
    const g = await create({ rule });
    await refused('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: [e[0]] }, 422, 'rule_group_has_no_members', 'enterpriseIds');
    await refused('POST', `/service-groups/${g.id}/members`, { enterpriseIds: [e[0]] }, 422, 'rule_group_has_no_members', 'enterpriseIds');
    await refused('DELETE', `/service-groups/${g.id}/members/${e[0]}`, undefined, 422, 'rule_group_has_no_members', 'enterpriseIds');
    const list = await call('GET', `/service-groups/${g.id}/members`);
    expect(list.statusCode).toBe(422);
    expect(list.json().error.code).toBe('rule_group_has_no_members');
  });

  it('drops the static members when a rule is set, and starts empty when it is cleared', async () => {
    const g = await create({ name: 'switch' });
    await call('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: e });
    const before = await tableCounts(h.t);
    expect((await call('PATCH', `/service-groups/${g.id}`, { rule })).statusCode).toBe(200);
    expect((await tableCounts(h.t)).service_group_members).toBe(before.service_group_members - e.length);
    expect((await call('PATCH', `/service-groups/${g.id}`, { rule: null })).json().rule).toBeNull();
    expect(await members(g.id)).toEqual([]);
  });

  it('takes 10,000 members in one request, and no more', async () => {
    await h.t.db.execute(sql`
      insert into enterprises (credit_code, name, industry_section, district, size)
      select 'BULK-' || i, 'bulk ' || i, 'C', '440106', 'small' from generate_series(1, 10000) as i`);
    const rows = rowsOf<{ id: string | number }>(
      await h.t.db.execute(sql`select id from enterprises where credit_code like 'BULK-%' order by id`),
    );
    const enterpriseIds = rows.map((r) => String(r.id));
    expect(enterpriseIds).toHaveLength(10_000);

    const g = await create({ name: 'bulk' });
    const res = await call('PUT', `/service-groups/${g.id}/members`, { enterpriseIds });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ memberCount: 10_000 });
    const again = await call('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: enterpriseIds.slice(5_000) });
    expect(again.json()).toEqual({ memberCount: 5_000 });

    await refused('PUT', `/service-groups/${g.id}/members`, { enterpriseIds: [...enterpriseIds, e[0]] }, 400, 'maxItems', 'enterpriseIds');
  });

  it('refuses to delete a group a policy targets with 409 in_use', async () => {
    const g = await create({ name: 'targeted' });
    await h.t.db.insert(policies).values({
      departmentId: Number(departmentId),
      docNumber: `SG-${g.id}`,
      title: 't',
      summary: 's',
      url: 'https://example.org/p',
      targetGroupIds: [Number(g.id)],
    });
    await refused('DELETE', `/service-groups/${g.id}`, undefined, 409, 'in_use', 'id');
    const free = await create({ name: 'free' });
    await call('PUT', `/service-groups/${free.id}/members`, { enterpriseIds: [e[0]] });
    expect((await call('DELETE', `/service-groups/${free.id}`)).statusCode).toBe(204);
  });

  it('answers 404 for an unknown group', async () => {
    const cases: ['GET' | 'PATCH' | 'DELETE' | 'PUT' | 'POST', string, object?][] = [
      ['GET', ''],
      ['PATCH', '', { name: 'x' }],
      ['DELETE', ''],
      ['GET', '/members'],
      ['PUT', '/members', { enterpriseIds: [] }],
      ['POST', '/members', { enterpriseIds: [] }],
      ['DELETE', `/members/${e[0]}`],
    ];
    for (const [method, suffix, payload] of cases) {
      const res = await call(method, `/service-groups/987654${suffix}`, payload);
      expect(res.statusCode, `${method} ${suffix}`).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });
});
