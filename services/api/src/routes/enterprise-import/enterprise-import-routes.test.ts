import { Readable } from 'node:stream';
import { generateCreditCode } from '@policy-push/core';
import { contacts, enterprises, rowsOf, eq, inArray, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, tableCounts, type TestApp } from '../../../test/helpers';
import { CSV_BODY_LIMIT } from './csv-body';

const HEADER =
  'credit_code,name,industry_section,industry_division,district,size,tags,contact_name,phone,email,wechat_openid,locale,channels';

/** Valid, distinct credit codes from a seeded generator. */
function creditCodes(seed: number) {
  let s = seed;
  const seen = new Set<string>();
  return () => {
    for (;;) {
      const code = generateCreditCode(() => (s = (s * 16807) % 2147483647) / 2147483647);
      if (!seen.has(code)) {
        seen.add(code);
        return code;
      }
    }
  };
}

describe('POST /v1/enterprises/import', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(() => h.close());

  const importCsv = (csv: string, contentType = 'text/csv') =>
    h.app.inject({ method: 'POST', url: '/v1/enterprises/import', headers: { ...h.auth, 'content-type': contentType }, payload: csv });
  const imported = async (csv: string) => {
    const res = await importCsv(csv);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const byCode = async (code: string) => (await h.t.db.select().from(enterprises).where(eq(enterprises.creditCode, code)))[0];
  const contactsOf = (enterpriseId: number) => h.t.db.select().from(contacts).where(eq(contacts.enterpriseId, enterpriseId));

  it('imports every good row and reports each bad one with its line and column, writing nothing of it', async () => {
    const next = creditCodes(11);
    const [good1, good2, landline, outside, unknownDistrict, noName] = [next(), next(), next(), next(), next(), next()];
    const lines = [
      HEADER,
      `${good1},广州明珠科技有限公司,C,39,440106,small,高新技术企业|规上工业,张三,138 0013 8000,Zhang@Example.COM,,zh-Hans,sms|email`, // 2
      `91440101MA5ABCDE1X,坏代码公司,C,,440106,small,,,13800138001,,,,`, // 3: bad check character
      `${outside},门类外公司,C,01,440106,small,,,,,,,`, // 4: division 01 is in section A
      `${landline},座机公司,F,,440103,micro,,李四,020 8888 8888,,,,`, // 5: a landline cannot get SMS
      `${unknownDistrict},外区公司,F,,110101,micro,,,,,,,`, // 6: Beijing, not a Guangzhou district
      `${noName},,C,,440106,small,,,,,,,`, // 7: name missing
      `${good1},重复公司,C,,440106,small,,,,,,,`, // 8: same credit code as line 2
      `${good2.toLowerCase()},"小微企业, 有限公司",G,,440111,micro,,,,ops@example.org,oAbC-123_xyz,en,`, // 9: lower case is normalised
      `${next()},列数不对,C`, // 10
    ];
    const before = await tableCounts(h.t);
    const report = await imported(lines.join('\n') + '\n');

    expect(report).toMatchObject({ created: 2, updated: 0, failed: 7, contacts: { created: 2, updated: 0 }, stoppedAt: null });
    expect(report.rows).toEqual([
      { row: 2, creditCode: good1, status: 'created' },
      { row: 3, creditCode: '91440101MA5ABCDE1X', status: 'failed', errors: [{ path: 'credit_code', code: 'invalid_credit_code' }] },
      { row: 4, creditCode: outside, status: 'failed', errors: [{ path: 'industry_division', code: 'division_outside_section' }] },
      { row: 5, creditCode: landline, status: 'failed', errors: [{ path: 'phone', code: 'phone_not_mobile' }] },
      { row: 6, creditCode: unknownDistrict, status: 'failed', errors: [{ path: 'district', code: 'unknown_district' }] },
      { row: 7, creditCode: noName, status: 'failed', errors: [{ path: 'name', code: 'required' }] },
      { row: 8, creditCode: good1, status: 'failed', errors: [{ path: 'credit_code', code: 'duplicate_in_file' }] },
      { row: 9, creditCode: good2, status: 'created' },
      { row: 10, creditCode: expect.any(String), status: 'failed', errors: [{ path: 'row', code: 'wrong_column_count' }] },
    ]);

    const after = await tableCounts(h.t);
    expect(after.enterprises - before.enterprises).toBe(2);
    expect(after.contacts - before.contacts).toBe(2);
    // The landline row's enterprise was sound: it was not written without its contact.
    expect(await byCode(landline)).toBeUndefined();

    const first = await byCode(good1);
    expect(first).toMatchObject({
      name: '广州明珠科技有限公司',
      industrySection: 'C',
      industryDivision: '39',
      tags: ['高新技术企业', '规上工业'],
    });
    const [contact] = await contactsOf(first.id);
    expect(contact).toMatchObject({
      name: '张三',
      phone: '+8613800138000',
      email: 'Zhang@example.com',
      locale: 'zh-Hans',
      channels: ['sms', 'email'],
      consentSource: 'imported',
    });
    const second = await byCode(good2);
    expect(second).toMatchObject({ name: '小微企业, 有限公司', tags: [] });
    expect((await contactsOf(second.id))[0]).toMatchObject({
      email: 'ops@example.org',
      wechatOpenid: 'oAbC-123_xyz',
      locale: 'en',
      channels: ['wechat', 'sms', 'email'],
      consentSource: 'imported',
    });

    // The consent shows through the contacts API.
    const api = await h.app.inject({ method: 'GET', url: `/v1/contacts/${contact.id}`, headers: h.auth });
    expect(api.json()).toMatchObject({ consent: { source: 'imported', at: expect.any(String) }, emailConfirmedAt: null, quietHours: null });
  });

  it('updates on re-import instead of duplicating, matching contacts by phone, then email, then openid', async () => {
    const next = creditCodes(22);
    const [a, b, c] = [next(), next(), next()];
    await imported(
      [
        'credit_code,name,industry_section,district,size,tags,phone,email,wechat_openid',
        `${a},甲公司,C,440106,small,旧标签,13900000001,,`,
        `${b},乙公司,F,440103,micro,,,b@example.org,`,
        `${c},丙公司,G,440104,medium,,,,oWx_openid_c`,
      ].join('\n'),
    );
    const aId = (await byCode(a)).id;
    // A contact the agency entered through the API keeps its consent when the import matches it.
    const agency = await h.app.inject({
      method: 'POST',
      url: `/v1/enterprises/${(await byCode(b)).id}/contacts`,
      headers: h.auth,
      payload: { email: 'agency@example.org', quietHours: '21:00-07:30' },
    });
    expect(agency.json()).toMatchObject({ consent: { source: 'agency-entered' }, quietHours: '21:00-07:30' });
    const before = await tableCounts(h.t);

    // No tags column this time: the stored tags stay.
    const again = await imported(
      [
        'name,credit_code,industry_section,district,size,contact_name,phone,email,wechat_openid,locale',
        `甲公司（新名）,${a},C,440106,medium,王五,+86 139 0000 0001,wang@example.org,,en`,
        `乙公司,${b},F,440103,micro,,13700000002,AGENCY@example.org,,`,
        `丙公司,${c},G,440104,medium,,,,oWx_openid_c,zh-Hant`,
      ].join('\n'),
    );
    expect(again).toMatchObject({ created: 0, updated: 3, failed: 0, contacts: { created: 0, updated: 3 } });
    expect(again.rows.map((r: { status: string }) => r.status)).toEqual(['updated', 'updated', 'updated']);
    expect(await tableCounts(h.t)).toMatchObject({ enterprises: before.enterprises, contacts: before.contacts });

    expect(await byCode(a)).toMatchObject({ id: aId, name: '甲公司（新名）', size: 'medium', tags: ['旧标签'] });
    expect(await contactsOf(aId)).toEqual([
      expect.objectContaining({
        name: '王五',
        phone: '+8613900000001',
        email: 'wang@example.org',
        locale: 'en',
        consentSource: 'imported',
      }),
    ]);
    const bContacts = await contactsOf((await byCode(b)).id);
    expect(bContacts).toHaveLength(2);
    // Matched by email (case aside): gains the phone, keeps its consent and quiet hours.
    expect(bContacts.find((x) => x.id === Number(agency.json().id))).toMatchObject({
      phone: '+8613700000002',
      consentSource: 'agency-entered',
      quietHours: '21:00-07:30',
    });
    expect((await contactsOf((await byCode(c)).id))[0]).toMatchObject({ wechatOpenid: 'oWx_openid_c', locale: 'zh-Hant' });

    // A tags column replaces the tags; an empty cell clears them.
    const cleared = await imported(`credit_code,name,industry_section,district,size,tags\n${a},甲公司,C,440106,small,\n`);
    expect(cleared).toMatchObject({ updated: 1 });
    expect((await byCode(a)).tags).toEqual([]);
  });

  it('refuses an empty file or a bad header row with 400 invalid_csv naming the column, writing nothing', async () => {
    const before = await tableCounts(h.t);
    const cases: [string, { path: string; code: string }][] = [
      ['', { path: 'body', code: 'empty_file' }],
      ['\n\n', { path: 'body', code: 'empty_file' }],
      [`credit_code,name,industry_section,size\n${creditCodes(3)()},X,C,small\n`, { path: 'district', code: 'missing_column' }],
      ['credit_code,name,industry_section,district,size,emial\n', { path: 'emial', code: 'unknown_column' }],
      ['credit_code,name,name,industry_section,district,size\n', { path: 'name', code: 'duplicate_column' }],
    ];
    for (const [csv, field] of cases) {
      const res = await importCsv(csv);
      expect(res.statusCode, csv).toBe(400);
      expect(res.json().error.code).toBe('invalid_csv');
      expect(res.json().error.fields).toContainEqual(field);
    }
    const missing = await importCsv(`credit_code,name,industry_section,size\n`);
    expect(missing.json().error.message).toContain('district');
    expect(await tableCounts(h.t)).toEqual(before);

    // A header row alone is a file with nothing to import.
    expect(await imported(`${HEADER}\n`)).toEqual({
      created: 0,
      updated: 0,
      failed: 0,
      contacts: { created: 0, updated: 0 },
      stoppedAt: null,
      rows: [],
    });
  });

  it('takes text/csv only, and refuses a body over the limit with 413', async () => {
    const before = await tableCounts(h.t);
    const json = await h.app.inject({ method: 'POST', url: '/v1/enterprises/import', headers: h.auth, payload: { rows: [] } });
    expect(json.statusCode).toBe(415);
    expect(json.json().error.code).toBe('unsupported_media_type');
    expect((await importCsv(`${HEADER}\n`, 'text/csv; charset=gbk')).statusCode).toBe(415);
    expect((await importCsv(`${HEADER}\n`, 'text/csv; charset=utf-8')).statusCode).toBe(200);
    const big = await h.app.inject({
      method: 'POST',
      url: '/v1/enterprises/import',
      headers: { ...h.auth, 'content-type': 'text/csv', 'content-length': String(CSV_BODY_LIMIT + 1) },
      payload: `${HEADER}\n`,
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('body_too_large');
    const anonymous = await h.app.inject({
      method: 'POST',
      url: '/v1/enterprises/import',
      headers: { 'content-type': 'text/csv' },
      payload: HEADER,
    });
    expect(anonymous.statusCode).toBe(401);
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('stops at a malformed line, keeping the rows before it, and a re-import after the fix completes the file', async () => {
    const next = creditCodes(33);
    const codes = [next(), next(), next()];
    const header = 'credit_code,name,industry_section,district,size';
    const first = await imported(
      [
        header,
        `${codes[1]},先到的公司,C,440106,small`,
        `${codes[0]},"引号"公司,C,440106,small`, // 3: text after a closing quote
        `${codes[2]},没读到的公司,C,440106,small`,
      ].join('\n'),
    );
    expect(first).toMatchObject({ created: 1, failed: 0, stoppedAt: 3 });
    expect(await byCode(codes[2])).toBeUndefined();

    const fixed = await imported(
      [
        header,
        `${codes[1]},先到的公司,C,440106,small`,
        `${codes[0]},"""引号""公司",C,440106,small`,
        `${codes[2]},好公司,C,440106,small`,
      ].join('\r\n'),
    );
    expect(fixed).toMatchObject({ created: 2, updated: 1, failed: 0, stoppedAt: null });
    expect((await byCode(codes[0])).name).toBe('"引号"公司');
  });

  it('reads a chunked upload over a real socket, and answers a stopped one while the client is still sending', async () => {
    const url = `${await h.app.listen({ host: '127.0.0.1', port: 0 })}/v1/enterprises/import`;
    const next = creditCodes(55);
    const upload = (lines: Iterable<string>) =>
      fetch(url, {
        method: 'POST',
        headers: { ...h.auth, 'content-type': 'text/csv' },
        // No content-length: the body arrives in chunks as it is generated.
        body: Readable.toWeb(Readable.from(lines)) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
    function* rows(count: number, malformedAt?: number) {
      yield 'credit_code,name,industry_section,district,size\n';
      for (let i = 0; i < count; i++)
        yield i === malformedAt ? `${next()},"坏"引号,C,440106,small\n` : `${next()},分块企业${i},C,440106,small\n`;
    }
    const whole = await upload(rows(1500));
    expect(whole.status).toBe(200);
    expect(await whole.json()).toMatchObject({ created: 1500, failed: 0, stoppedAt: null });

    // Stopped at line 12 of 50,000: the answer comes though the rest is still being sent (and discarded).
    const stopped = await upload(rows(50_000, 10));
    expect(stopped.status).toBe(200);
    expect(await stopped.json()).toMatchObject({ created: 10, stoppedAt: 12 });
  });

  it('streams a 20,000-row file into the database, listing the first 1,000 successes', { timeout: 240_000 }, async () => {
    const next = creditCodes(44);
    const total = 20_000;
    const lines = [HEADER];
    for (let i = 0; i < total; i++) {
      const phone = `139${String(i).padStart(8, '0')}`;
      lines.push(`${next()},批量企业${i},C,,440106,small,批量,联系人${i},${phone},,,,`);
    }
    // One bad row in the middle is reported among them.
    lines.splice(10_001, 0, `${next()},坏行,C,,440106,huge,,,,,,,`);
    const report = await imported(lines.join('\n'));
    expect(report).toMatchObject({ created: total, updated: 0, failed: 1, contacts: { created: total, updated: 0 }, stoppedAt: null });
    expect(report.rows).toHaveLength(1001);
    expect(report.rows.filter((r: { status: string }) => r.status === 'created')).toHaveLength(1000);
    expect(report.rows.find((r: { status: string }) => r.status === 'failed')).toMatchObject({
      row: 10_002,
      errors: [{ path: 'size', code: 'unknown_size' }],
    });
    const [landed] = rowsOf<{ enterprises: number; contacts: number }>(
      await h.t.db.execute(sql`
        select count(distinct e.id)::int as enterprises, count(c.id)::int as contacts
        from enterprises e join contacts c on c.enterprise_id = e.id
        where e.tags @> array['批量']`),
    );
    expect(landed).toEqual({ enterprises: total, contacts: total });
    const sample = await h.t.db
      .select()
      .from(enterprises)
      .where(inArray(enterprises.name, ['批量企业0', '批量企业19999']));
    expect(sample).toHaveLength(2);
  });
});
