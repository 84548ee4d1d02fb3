// Compose (issue 14): the audience rule builder beside service groups, the count (a button
// without script, JSON for the script), interpretation links, publish time and expiry; problems
// shown beside their fields with what was typed kept, and nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, opsSignIn, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string | string[]>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) p.append(k, one);
  return p.toString();
};

describe('/ops/compose', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  let other: Awaited<ReturnType<typeof seedWorld>>;
  let publisher: Awaited<ReturnType<typeof opsSignIn>>;

  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [{ phone: '+8613812345678', channels: ['sms'] }, { email: 'a@example.com' }, { email: 'b@example.com' }]);
    other = await seedWorld(h, [{ phone: '+8613912345678' }]);
    // seedWorld puts every enterprise in Tianhe (440106); move one to Yuexiu (440104).
    await call(h, 'PATCH', `/v1/enterprises/${world.enterprises[2].enterprise.id}`, { district: '440104' }, 200);
    const key = await keyHeaders(h, { role: 'publisher', departmentIds: [Number(world.department.id)] });
    publisher = await opsSignIn(h, key.authorization.replace('Bearer ', ''));
  });
  afterAll(() => h.close());

  const post = (url: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url,
      headers: { ...FORM, ...headers, cookie: publisher.cookie },
      payload: form({ _csrf: publisher.csrf, ...fields }),
    });
  const base = () => ({ departmentId: world.department.id, categoryIds: world.category.id });

  it('shows the rule builder with names beside the service groups, and the Count button', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/ops/compose', headers: { cookie: publisher.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('data-rule');
    expect(res.body).toContain('越秀区');
    expect(res.body).toContain('制造业');
    expect(res.body).toContain('name="tagsMode" value="all"');
    expect(res.body).toContain('formaction="/ops/compose/count"');
    expect(res.body).toContain('name="publishAt"');
    expect(res.body).toContain('name="validUntil"');
    expect(res.body).toContain('name="interpretationUrls"');
    expect(res.body).toContain('src="/ops/assets/compose-count.js"');
  });

  it('counts the audience the rule describes, as a page and as JSON, writing nothing', async () => {
    const before = await tableCounts(h.t);
    const all = await post('/ops/compose/count', base());
    expect(all.statusCode).toBe(200);
    expect(all.body).toContain('data-live-count="enterprises">3<');
    const yuexiu = await post('/ops/compose/count', { ...base(), districts: '440104', title: '还没写完' });
    expect(yuexiu.body).toContain('data-live-count="enterprises">1<');
    // What was typed is kept.
    expect(yuexiu.body).toContain('value="还没写完"');
    expect(yuexiu.body).toMatch(/value="440104" checked/);
    const json = await post('/ops/compose/count', { ...base(), industries: 'C', sizes: 'small' }, { accept: 'application/json' });
    expect(json.json()).toMatchObject({ count: { enterprises: 3 } });
    const none = await post('/ops/compose/count', { ...base(), sizes: 'large' }, { accept: 'application/json' });
    expect(none.json()).toMatchObject({ count: { enterprises: 0 } });
    const tags = await post('/ops/compose/count', { ...base(), tags: 'export, hightech', tagsMode: 'all' }, { accept: 'application/json' });
    expect(tags.json()).toMatchObject({ count: { enterprises: 0 } });
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('shows a bad rule beside its field; another department is unknown', async () => {
    const bad = await post('/ops/compose/count', { ...base(), divisions: '99x' });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('data-code="unknown_industry"');
    expect(bad.body).toContain('value="99x"');
    const foreign = await post(
      '/ops/compose/count',
      { departmentId: other.department.id, categoryIds: other.category.id },
      { accept: 'application/json' },
    );
    expect(foreign.statusCode).toBe(422);
    expect(foreign.json().problems).toContainEqual({ path: 'departmentId', code: 'unknown_department' });
  });

  it('previews and publishes a scheduled policy with a rule, links and an expiry; the preview keeps them', async () => {
    const fields = {
      ...base(),
      docNumber: `穗测〔2026〕${Date.now() % 100000}号`,
      title: '越秀区小微企业房租减免',
      summary: '对越秀区小微企业减免三个月房租。',
      url: 'https://policy.example.gov.cn/2026/yx',
      interpretationUrls: ['https://policy.example.gov.cn/2026/yx-jd', ''],
      districts: '440104',
      publishAt: '2099-01-01T09:00',
      validUntil: '2099-06-30T18:00',
    };
    const preview = await post('/ops/compose/preview', fields);
    expect(preview.statusCode).toBe(200);
    expect(preview.body).toContain('data-count="enterprises">1<');
    expect(preview.body).toContain('name="districts" value="440104"');
    expect(preview.body).toContain('name="publishAt" value="2099-01-01T09:00"');
    const published = await post('/ops/compose/publish', fields);
    expect(published.statusCode).toBe(303);
    const id = /\/ops\/policies\/(\d+)$/.exec(published.headers.location as string)![1];
    const policy = await call(h, 'GET', `/v1/policies/${id}`, undefined, 200);
    expect(policy).toMatchObject({
      status: 'scheduled',
      audience: { rule: { districts: { any: ['440104'] } } },
      interpretationUrls: ['https://policy.example.gov.cn/2026/yx-jd'],
      publishAt: '2099-01-01T01:00:00.000Z',
      validUntil: '2099-06-30T10:00:00.000Z',
    });
  });

  it('refuses a publish time in the past and a bad expiry beside their fields, writing nothing', async () => {
    const before = await tableCounts(h.t);
    const fields = {
      ...base(),
      docNumber: 'PAST-1',
      title: '过去的时间',
      summary: '摘要',
      url: 'https://policy.example.gov.cn/past',
      publishAt: '2020-01-01T09:00',
      validUntil: 'soon',
    };
    const res = await post('/ops/compose/preview', fields);
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('data-error-for="validUntil"');
    expect(res.body).toContain('value="soon"');
    const past = await post('/ops/compose/publish', { ...fields, validUntil: '' });
    expect(past.statusCode).toBe(422);
    expect(past.body).toContain('data-error-for="publishAt"');
    expect(past.body).toContain('data-code="publish_at_in_past"');
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('publishes an act-by time and follow-up days as the API plan; a bad plan is refused beside its fields', async () => {
    const fields = {
      ...base(),
      docNumber: `穗测〔2026〕跟进${Date.now() % 100000}号`,
      title: '小微企业稳岗补贴申报',
      summary: '申报期内提交材料。',
      url: 'https://policy.example.gov.cn/2026/wg',
      publishAt: '2099-01-01T09:00',
      actionBy: '2099-01-20T17:00',
      followUpAfter: '3',
      followUpBefore: '2, 1',
    };
    const before = await tableCounts(h.t);
    const tooMany = await post('/ops/compose/publish', { ...fields, followUpAfter: '3, 5' });
    expect(tooMany.statusCode).toBe(422);
    expect(tooMany.body).toContain('data-code="too_many_steps"');
    const notDays = await post('/ops/compose/preview', { ...fields, followUpBefore: 'two' });
    expect(notDays.statusCode).toBe(422);
    expect(notDays.body).toContain('data-error-for="followUpBefore"');
    expect(notDays.body).toContain('value="two"');
    const late = await post('/ops/compose/publish', { ...fields, actionBy: '2098-12-31T09:00' });
    expect(late.statusCode).toBe(422);
    expect(late.body).toContain('data-error-for="actionBy"');
    expect(await tableCounts(h.t)).toEqual(before);

    const preview = await post('/ops/compose/preview', fields);
    expect(preview.statusCode).toBe(200);
    expect(preview.body).toContain('name="followUpBefore" value="2, 1"');
    const published = await post('/ops/compose/publish', fields);
    expect(published.statusCode).toBe(303);
    const id = /\/ops\/policies\/(\d+)$/.exec(published.headers.location as string)![1];
    expect(await call(h, 'GET', `/v1/policies/${id}`, undefined, 200)).toMatchObject({ actionBy: '2099-01-20T09:00:00.000Z' });
    const reminders = (await call(h, 'GET', `/v1/policies/${id}/reminders`, undefined, 200)) as { steps: { dueAt: string }[] };
    expect(reminders.steps.map((s) => s.dueAt)).toEqual([
      '2099-01-04T01:00:00.000Z',
      '2099-01-18T09:00:00.000Z',
      '2099-01-19T09:00:00.000Z',
    ]);
  });
});
