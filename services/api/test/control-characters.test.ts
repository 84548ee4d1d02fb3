// Control characters (plugins/text-guard.ts): a CR or LF in a one-line field would go verbatim
// into an SMS or a mail header, so one-line fields refuse every C0 control with
// `400 invalid_characters` naming the field, writing nothing. Multi-line fields (summaries, the
// console's textareas) keep LF and TAB, and store CRLF as LF.
import { rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, opsSignIn, policyBody, seedWorld, tableCounts, type TestApp } from './helpers';

let h: TestApp;
let world: Awaited<ReturnType<typeof seedWorld>>;

beforeAll(async () => {
  h = await buildTestApp();
  world = await seedWorld(h, [{ email: 'lines@example.com' }]);
});
afterAll(() => h.close());

async function refused(method: 'POST' | 'PATCH', url: string, payload: object, path: string) {
  const before = await tableCounts(h.t);
  const res = await h.app.inject({ method, url, headers: h.auth, payload });
  expect(res.statusCode, res.body).toBe(400);
  expect(res.json().error).toMatchObject({ code: 'invalid_characters', fields: [{ path, code: 'invalid_characters' }] });
  expect(res.json().error.message).toContain(path);
  expect(await tableCounts(h.t)).toEqual(before);
}

const policy = (extra: Record<string, unknown>) => policyBody(world.department.id, world.category.id, extra);

describe('one-line fields', () => {
  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
    ['CR', '\r'],
    ['TAB', '\t'],
    ['BEL', '\u0007'],
    ['ESC', '\u001B'],
  ])('refuse %s, naming the field', async (_name, control) => {
    await refused(
      'POST',
      '/v1/departments',
      { code: 'ctl', nameZh: `测试${control}局`, nameEn: 'Test', smsSignature: '广州测试' },
      'nameZh',
    );
    await refused('POST', '/v1/policies', policy({ title: `标题${control}Bcc: x@example.com` }), 'title');
    await refused('POST', '/v1/policies', policy({ docNumber: `穗府${control}1号` }), 'docNumber');
    await refused('PATCH', `/v1/departments/${world.department.id}`, { nameEn: `Bureau${control}` }, 'nameEn');
  });

  it('refuse them in query strings too', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/deliveries?q=a%0Ab', headers: h.auth });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toEqual([{ path: 'query.q', code: 'invalid_characters' }]);
  });
});

describe('multi-line fields', () => {
  it('keep LF and TAB, and store CRLF as LF', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: h.auth,
      payload: policy({ summary: '第一条\r\n第二条\n\t细则', summaryEn: 'One\r\nTwo' }),
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().policy.id;
    const [row] = rowsOf<{ summary: string; summary_en: string }>(
      await h.t.db.execute(sql`select summary, summary_en from policies where id = ${id}`),
    );
    expect(row).toEqual({ summary: '第一条\n第二条\n\t细则', summary_en: 'One\nTwo' });
  });

  it.each([
    ['a lone CR', '一\r二'],
    ['BEL', '一\u0007二'],
    ['NUL', '一\u0000二'],
  ])('refuse %s', async (_name, summary) => {
    await refused('POST', '/v1/policies', policy({ summary }), 'summary');
  });

  it('the console’s summary textarea posts CRLF, stored as LF', async () => {
    const { cookie, csrf } = await opsSignIn(h, h.auth.authorization.replace('Bearer ', ''));
    const form = new URLSearchParams({
      _csrf: csrf,
      departmentId: world.department.id,
      docNumber: 'CTL-FORM-1',
      title: '表单标题',
      summary: '第一行\r\n第二行',
      url: 'https://policy.example.gov.cn/ctl',
      categoryIds: world.category.id,
      priority: 'normal',
    });
    const res = await h.app.inject({
      method: 'POST',
      url: '/ops/compose/publish',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form.toString(),
    });
    expect(res.statusCode, res.body).toBeLessThan(400);
    const [row] = rowsOf<{ summary: string }>(await h.t.db.execute(sql`select summary from policies where doc_number = 'CTL-FORM-1'`));
    expect(row?.summary).toBe('第一行\n第二行');
  });
});
