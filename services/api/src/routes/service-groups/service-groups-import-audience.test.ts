import { generateCreditCode } from '@policy-push/core';
import { contacts, enterprises, eq, inArray } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, tableCounts, type TestApp } from '../../../test/helpers';

// A database of its own: a rule group's audience is counted over every enterprise in it.
describe('service group members from CSV, and audiences', () => {
  let h: TestApp;
  let departmentId: string;
  let seed = 4242;
  const creditCode = () => generateCreditCode(() => (seed = (seed * 16807) % 2147483647) / 2147483647);
  const codes = Array.from({ length: 4 }, creditCode);
  const ids: string[] = [];

  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object) =>
    h.app.inject({ method, url: `/v1${url}`, headers: h.auth, payload });
  const putCsv = (groupId: string, csv: string) =>
    h.app.inject({
      method: 'PUT',
      url: `/v1/service-groups/${groupId}/members/import`,
      headers: { ...h.auth, 'content-type': 'text/csv' },
      payload: csv,
    });
  const group = async (payload: object) => {
    const res = await call('POST', '/service-groups', { departmentId, name: 'group', ...payload });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const audience = async (groupId: string, query = '') => {
    const res = await call('GET', `/service-groups/${groupId}/audience${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const members = async (groupId: string) => (await call('GET', `/service-groups/${groupId}/members?limit=500`)).json().items;

  beforeAll(async () => {
    h = await buildTestApp();
    departmentId = (await call('POST', '/departments', { code: 'aud', nameZh: '部门', nameEn: 'Dept', smsSignature: '测试' })).json().id;
    // Four enterprises, through the import:
    //   0: C/440106 with a mobile contact (reachable)
    //   1: C/440106 with an email contact that opted out of email (not reachable)
    //   2: F/440103 without contacts
    //   3: G/440104 with a contact the system suppressed (not reachable)
    const imported = await h.app.inject({
      method: 'POST',
      url: '/v1/enterprises/import',
      headers: { ...h.auth, 'content-type': 'text/csv' },
      payload: [
        'credit_code,name,industry_section,industry_division,district,size,phone,email',
        `${codes[0]},甲,C,39,440106,small,13800138000,`,
        `${codes[1]},乙,C,,440106,micro,,b@example.org`,
        `${codes[2]},丙,F,,440103,small,,`,
        `${codes[3]},丁,G,,440104,large,13800138003,`,
      ].join('\n'),
    });
    expect(imported.json()).toMatchObject({ created: 4, failed: 0 });
    const rows = await h.t.db.select().from(enterprises).where(inArray(enterprises.creditCode, codes));
    for (const code of codes) ids.push(String(rows.find((r) => r.creditCode === code)!.id));
    const [optedOut] = await h.t.db
      .select()
      .from(contacts)
      .where(eq(contacts.enterpriseId, Number(ids[1])));
    expect((await call('PATCH', `/contacts/${optedOut.id}`, { optedOut: ['email'] })).statusCode).toBe(200);
    await h.t.db
      .update(contacts)
      .set({ suppressed: true })
      .where(eq(contacts.enterpriseId, Number(ids[3])));
  });
  afterAll(() => h.close());

  it('replaces a static group from a CSV of credit codes, applying the good rows and reporting the bad', async () => {
    const id = await group({ name: 'static' });
    const res = await putCsv(
      id,
      [
        'name,credit_code', // other columns are ignored
        `甲,${codes[0]}`,
        `丙,${codes[2]}`,
        `?,91440101MA5ABCDE1X`, // 4: invalid check character
        `?,${creditCode()}`, // 5: valid, but no such enterprise
        `甲again,${codes[0]}`, // a repeat is ignored
        `空,`, // 7: empty
        `丁,${codes[3].toLowerCase()}`, // normalised
      ].join('\n'),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      memberCount: 3,
      failed: 3,
      rows: [
        { row: 4, creditCode: '91440101MA5ABCDE1X', errors: [{ path: 'credit_code', code: 'invalid_credit_code' }] },
        { row: 5, creditCode: expect.any(String), errors: [{ path: 'credit_code', code: 'unknown_enterprise' }] },
        { row: 7, creditCode: null, errors: [{ path: 'credit_code', code: 'required' }] },
      ],
    });
    expect(await members(id)).toEqual([ids[0], ids[2], ids[3]]);

    // The static group's audience: its members, their contacts, the reachable ones.
    expect(await audience(id)).toEqual({
      enterprises: 3,
      contacts: 2,
      reachableContacts: 1,
      sample: [
        { enterpriseId: ids[0], name: '甲', district: '440106', industry: { section: 'C', division: '39' } },
        { enterpriseId: ids[2], name: '丙', district: '440103', industry: { section: 'F', division: null } },
        { enterpriseId: ids[3], name: '丁', district: '440104', industry: { section: 'G', division: null } },
      ],
      empty: false,
    });

    // Another file replaces the list; a header alone empties it, and the audience says so.
    expect((await putCsv(id, `credit_code\n${codes[1]}\n`)).json()).toEqual({ memberCount: 1, failed: 0, rows: [] });
    expect(await members(id)).toEqual([ids[1]]);
    expect((await putCsv(id, 'credit_code\n')).json()).toEqual({ memberCount: 0, failed: 0, rows: [] });
    expect(await audience(id)).toEqual({ enterprises: 0, contacts: 0, reachableContacts: 0, sample: [], empty: true });
  });

  it('changes nothing for a file it cannot read to the end, a rule group or an unknown group', async () => {
    const id = await group({ name: 'kept' });
    expect((await putCsv(id, `credit_code\n${codes[0]}\n`)).json().memberCount).toBe(1);
    const rule = await group({ name: 'rule', rule: { sizes: { any: ['small'] } } });
    const before = await tableCounts(h.t);
    const refusals: [string, string, number, string, { path: string; code: string }][] = [
      [id, '', 400, 'invalid_csv', { path: 'body', code: 'empty_file' }],
      [id, `code\n${codes[1]}\n`, 400, 'invalid_csv', { path: 'credit_code', code: 'missing_column' }],
      [id, `credit_code,name\n${codes[1]},x\n"${codes[2]}"x,y\n`, 400, 'invalid_csv', { path: 'line 3', code: 'malformed_csv' }],
      [rule, `credit_code\n${codes[1]}\n`, 422, 'rule_group_has_no_members', { path: 'enterpriseIds', code: 'rule_group_has_no_members' }],
    ];
    for (const [groupId, csv, status, code, field] of refusals) {
      const res = await putCsv(groupId, csv);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().error.code).toBe(code);
      expect(res.json().error.fields).toContainEqual(field);
    }
    expect((await putCsv('987654', `credit_code\n${codes[1]}\n`)).statusCode).toBe(404);
    expect(await tableCounts(h.t)).toEqual(before);
    expect(await members(id)).toEqual([ids[0]]);
  });

  it("counts a rule group's audience in SQL, and flags a group that matches no one", async () => {
    const c440106 = await group({ name: 'C in Tianhe', rule: { industries: { any: ['C'] }, districts: { any: ['440106'] } } });
    expect(await audience(c440106)).toEqual({
      enterprises: 2,
      contacts: 2,
      reachableContacts: 1,
      sample: [
        { enterpriseId: ids[0], name: '甲', district: '440106', industry: { section: 'C', division: '39' } },
        { enterpriseId: ids[1], name: '乙', district: '440106', industry: { section: 'C', division: null } },
      ],
      empty: false,
    });
    expect((await audience(c440106, '?sampleSize=1')).sample).toHaveLength(1);
    // A division matches as in publishing: 39 is in section C.
    const division = await group({ name: 'division 39', rule: { industries: { any: ['39'] } } });
    expect(await audience(division, '?sampleSize=0')).toEqual({
      enterprises: 1,
      contacts: 1,
      reachableContacts: 1,
      sample: [],
      empty: false,
    });

    const nobody = await group({ name: 'Conghua large', rule: { districts: { any: ['440117'] }, sizes: { any: ['large'] } } });
    expect(await audience(nobody)).toEqual({ enterprises: 0, contacts: 0, reachableContacts: 0, sample: [], empty: true });

    expect((await call('GET', '/service-groups/987654/audience')).statusCode).toBe(404);
    expect((await call('GET', `/service-groups/${nobody}/audience?sampleSize=101`)).statusCode).toBe(400);
  });
});
