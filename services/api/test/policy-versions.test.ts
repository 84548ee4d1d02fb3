// Issue 11: every version keeps the whole policy as it was published, with its department's SMS
// signature and WeChat template then; GET /v1/policies/{id}/versions[/{v}] show them with what
// changed. Versions recorded before snapshots answer with what they have.
import { fanOutNextChunk, rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, call, keyHeaders, policyBody, seedWorld, startSandboxDispatcher, type TestApp } from './helpers';

describe('policy versions', () => {
  let h: TestApp;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  beforeAll(async () => {
    h = await buildTestApp();
    world = await seedWorld(h, [{ email: 'v1@example.com' }]);
  }, 60_000);
  afterAll(() => h.close());

  const body = (extra: Record<string, unknown> = {}) => policyBody(world.department.id, world.category.id, extra);
  const versions = async (id: string) => (await call(h, 'GET', `/v1/policies/${id}/versions`, undefined, 200)).items;
  const setSignature = (smsSignature: string) => call(h, 'PATCH', `/v1/departments/${world.department.id}`, { smsSignature }, 200);

  it('keeps each version whole as published, with the signature then, and says what changed', async () => {
    await setSignature('广州测试');
    const { policy } = await call(h, 'POST', '/v1/policies', body({ titleEn: 'Fifteen measures', summaryEn: 'Rent relief.' }), 202);
    let items = await versions(policy.id);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      policyId: policy.id,
      version: 1,
      snapshot: 'complete',
      changes: null,
      policy: {
        docNumber: policy.docNumber,
        title: policy.title,
        summary: policy.summary,
        titleEn: 'Fifteen measures',
        summaryEn: 'Rent relief.',
        url: policy.url,
        categoryIds: [world.category.id],
        priority: 'normal',
        publishAt: policy.publishAt,
        validUntil: null,
      },
      department: { id: world.department.id, smsSignature: '广州测试', wechatTemplateId: null },
    });
    expect(items[0].recordedAt).toEqual(expect.any(String));

    // The department changes its signature, then the policy is amended.
    await setSignature('广州新签');
    await call(h, 'PATCH', `/v1/policies/${policy.id}`, { summary: '补充了申请条件。', validUntil: '2099-01-01T00:00:00.000Z' }, 200);
    items = await versions(policy.id);
    expect(items.map((v: any) => [v.version, v.snapshot, v.department.smsSignature, v.changes])).toEqual([
      [1, 'complete', '广州测试', null],
      [2, 'complete', '广州新签', ['summary', 'validity']],
    ]);
    expect(items[0].policy.summary).toBe(policy.summary);
    expect(items[1].policy).toMatchObject({
      summary: '补充了申请条件。',
      validUntil: '2099-01-01T00:00:00.000Z',
      titleEn: 'Fifteen measures',
    });

    expect(await call(h, 'GET', `/v1/policies/${policy.id}/versions/1`, undefined, 200)).toEqual(items[0]);
    expect(await call(h, 'GET', `/v1/policies/${policy.id}/versions/2`, undefined, 200)).toEqual(items[1]);
  });

  it('records a scheduled policy when it is published, as its department is then', async () => {
    await setSignature('广州测试');
    const publishAt = new Date(Date.now() + 3_600_000).toISOString();
    const { policy } = await call(h, 'POST', '/v1/policies', body({ publishAt }), 202);
    expect(await versions(policy.id)).toEqual([]);
    await setSignature('广州定时');
    // Its time comes.
    await h.t.db.execute(sql`update pushes set start_at = now() where policy_id = ${Number(policy.id)}`);
    while (await fanOutNextChunk(h.t.db, 1000));
    const items = await versions(policy.id);
    expect(items.map((v: any) => [v.version, v.snapshot, v.department.smsSignature])).toEqual([[1, 'complete', '广州定时']]);
  });

  it('sends a version with the signature it was published with, so the message shown later is the one sent', async () => {
    const sms = await seedWorld(h, [{ phone: '+8613800138031' }]); // its department signs 【广州测试】
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(sms.department.id, sms.category.id), 202);
    while (await fanOutNextChunk(h.t.db, 1000));
    await call(h, 'PATCH', `/v1/departments/${sms.department.id}`, { smsSignature: '广州后改' }, 200);
    const sandbox = await startSandboxDispatcher(h);
    try {
      await vi.waitFor(async () => expect((await call(h, 'GET', `/v1/policies/${policy.id}/push`)).delivered).toBe(1), {
        timeout: 15_000,
        interval: 50,
      });
    } finally {
      await sandbox.stop();
    }
    const [sent] = rowsOf<{ id: string; text: string }>(
      await h.t.db.execute(sql`
        select d.id::text as id, s.content->>'text' as text from sandbox_messages s join deliveries d on d.id = s.delivery_id
        where d.policy_id = ${Number(policy.id)}`),
    );
    expect(sent.text.startsWith('【广州测试】')).toBe(true);
    const shown = await call(h, 'GET', `/v1/deliveries/${sent.id}/message`, undefined, 200);
    expect(shown.message.sms.text.startsWith('【广州测试】')).toBe(true);
  });

  it('answers a version recorded before snapshots with what it has, and says it is partial', async () => {
    const { policy } = await call(h, 'POST', '/v1/policies', body(), 202);
    // As if published before snapshots were kept: no row for its current version.
    await h.t.db.execute(sql`delete from policy_versions where policy_id = ${Number(policy.id)}`);
    let items = await versions(policy.id);
    expect(items).toEqual([
      {
        policyId: policy.id,
        version: 1,
        recordedAt: null,
        snapshot: 'partial',
        policy: {
          docNumber: null,
          title: policy.title,
          summary: policy.summary,
          titleEn: null,
          summaryEn: null,
          url: policy.url,
          interpretationUrls: [],
          categoryIds: null,
          audience: null,
          priority: null,
          publishAt: null,
          validUntil: null,
        },
        department: null,
        changes: null,
      },
    ]);
    // Amended: the old version is kept with its texts (partial), the new one whole.
    await call(h, 'PATCH', `/v1/policies/${policy.id}`, { title: '广州市支持中小企业共渡难关十五条措施（修订）' }, 200);
    items = await versions(policy.id);
    expect(items.map((v: any) => [v.version, v.snapshot, v.changes])).toEqual([
      [1, 'partial', null],
      [2, 'complete', ['title']],
    ]);
    expect(items[0].recordedAt).toEqual(expect.any(String));
    expect(items[0].policy.title).toBe(policy.title);
  });

  it('refuses a bad version with 400 naming it, and answers 404 for a version or policy that does not exist', async () => {
    const { policy } = await call(h, 'POST', '/v1/policies', body(), 202);
    const get = (url: string) => h.app.inject({ method: 'GET', url, headers: h.auth });
    const bad = await get(`/v1/policies/${policy.id}/versions/abc`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.fields[0].path).toContain('version');
    expect((await get(`/v1/policies/${policy.id}/versions/0`)).statusCode).toBe(400);
    expect((await get(`/v1/policies/${policy.id}/versions/2`)).json().error.code).toBe('not_found');
    expect((await get('/v1/policies/999999999/versions')).statusCode).toBe(404);
    // A publisher of another department gets the 404 of a missing policy.
    const other = await call(h, 'POST', '/v1/departments', { code: 'other-v', nameZh: '他局', nameEn: 'Other', smsSignature: '他局' }, 201);
    const foreign = await keyHeaders(h, { role: 'publisher', departmentIds: [Number(other.id)] });
    expect((await h.app.inject({ method: 'GET', url: `/v1/policies/${policy.id}/versions`, headers: foreign })).statusCode).toBe(404);
  });
});
