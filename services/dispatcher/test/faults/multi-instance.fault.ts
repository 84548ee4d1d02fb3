// Several instances against one Postgres, as deployed (ARCHITECTURE.md "Processes"): three
// dispatcher processes and two API processes, policies published through both APIs — two normal,
// one scheduled a few seconds ahead, one urgent (every usable channel) — over WeChat (fake
// Official Account), SMS (fake Twilio) and email (SMTP test server). Checked at the end: every
// delivery sent exactly once per provider (WeChat's client_msg_id makes a repeat harmless, but
// none happens here), one push per policy, the scheduled one started once and not before its
// time, periodic jobs run once per firing across the replicas (job_runs), and the WeChat token
// fetched by one process for all.
import { rowsOf } from '@policy-push/db';
import {
  createTestDb,
  type FakeTwilio,
  type FakeWechat,
  type SmtpTestServer,
  startFakeTwilio,
  startFakeWechat,
  startSmtpTestServer,
  type TestDb,
  testDatabaseUrl,
} from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { type ServiceProcess, startService, waitFor } from '../../../../bench/processes';
import { type ApiProcess, faultEnv, scaled, smsKey, startApi } from './fault-harness';

const N = scaled(600, 200);
const SCHEDULE_IN_MS = 6_000;
const WECHAT = { appId: 'wx0123456789abcdef', appSecret: 'wechat-secret', token: 'wechat-token' };

/** How many keys occur more than once. */
const repeated = (keys: string[]) => {
  const seen = new Map<string, number>();
  for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  return [...seen.values()].filter((n) => n > 1).length;
};

/** N enterprises, one contact each with all three addresses, channel orders rotating so each channel leads for a third. */
async function seedWorld(t: TestDb) {
  const [dept] = rowsOf<{ id: string }>(
    await t.db.execute(sql`
      insert into departments (code, name_zh, name_en, sms_signature, wechat_template)
      values ('multi', '多实例测试局', 'Multi-instance Test', '广州测试',
        ${JSON.stringify({
          templateId: 'tmpl-policy',
          fields: [
            { key: 'thing1', type: 'thing' },
            { key: 'thing2', type: 'thing' },
            { key: 'time3', type: 'time' },
          ],
        })}::jsonb)
      returning id`),
  );
  const [cat] = rowsOf<{ id: string }>(
    await t.db.execute(sql`insert into categories (code, name_zh, name_en) values ('multi', '测试', 'Test') returning id`),
  );
  await t.db.execute(sql`
    with e as (
      insert into enterprises (credit_code, name, industry_section, district, size)
      select 'MULTI-' || g, '企业' || g, 'C', '440106', 'small' from generate_series(1, ${N}) g
      returning id
    ), c as (
      insert into contacts (enterprise_id, phone, email, wechat_openid, channels)
      select id, '+1202' || lpad(id::text, 7, '0'), 'c' || id || '@example.com', 'openid-' || id,
        case id % 3 when 0 then '{wechat,sms,email}'::text[] when 1 then '{sms,email,wechat}'::text[] else '{email,wechat,sms}'::text[] end
      from e
    )
    insert into subscriptions (enterprise_id, category_ids) select id, array[${Number(cat.id)}::bigint] from e`);
  return { departmentId: dept.id, categoryId: cat.id };
}

describe.skipIf(!testDatabaseUrl())('three dispatchers and two APIs on one Postgres', () => {
  let t: TestDb;
  let twilio: FakeTwilio;
  let wechat: FakeWechat;
  let smtp: SmtpTestServer;
  const apis: ApiProcess[] = [];
  const dispatchers: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.all([...apis.map((a) => a.proc.stop()), ...dispatchers.map((d) => d.stop())]);
    await Promise.all([twilio?.close(), wechat?.close(), smtp?.close()]);
    await t?.drop();
  });

  it('sends every delivery once, runs each once-only job once, and counts duplicates per provider', async () => {
    t = await createTestDb();
    const world = await seedWorld(t);
    twilio = await startFakeTwilio();
    wechat = await startFakeWechat(WECHAT);
    smtp = await startSmtpTestServer();
    const env = faultEnv(t, twilio.url, twilio, {
      WECHAT_APP_ID: WECHAT.appId,
      WECHAT_APP_SECRET: WECHAT.appSecret,
      WECHAT_TOKEN: WECHAT.token,
      WECHAT_API_URL: wechat.url,
      WECHAT_PER_SECOND: '100000',
      WECHAT_DAILY_QUOTA: '10000000',
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Policy Push <push@example.org>',
      SMTP_PER_SECOND: '100000',
      PROVIDER_TIMEOUT_MS: '5000',
    });
    // Started together, as a deployment does: migrations run once under their lock.
    const started = Date.now();
    apis.push(...(await Promise.all([startApi(env), startApi(env)])));
    for (let i = 0; i < 3; i++) dispatchers.push(startService('services/dispatcher/src/main.ts', env));

    const body = (tag: string, extra: Record<string, unknown> = {}) => ({
      departmentId: world.departmentId,
      docNumber: `MULTI-${tag}`,
      title: `多实例政策${tag}`,
      summary: '多个实例同时推送。',
      url: `https://policy.example.gov.cn/multi/${tag}`,
      categoryIds: [world.categoryId],
      ...extra,
    });
    const publishAt = new Date(Date.now() + SCHEDULE_IN_MS);
    const published = await Promise.all([
      apis[0].request('POST', '/v1/policies', body('A')),
      apis[1].request('POST', '/v1/policies', body('B')),
      apis[0].request('POST', '/v1/policies', body('SCHEDULED', { publishAt: publishAt.toISOString() })),
      apis[1].request('POST', '/v1/policies', body('URGENT', { priority: 'urgent' })),
    ]);
    for (const p of published) expect(p.status, JSON.stringify(p.body)).toBe(202);

    // Three normal policies on each contact's first channel, the urgent one on all three.
    const expected = 3 * N + 3 * N;
    const counts = async () =>
      Object.fromEntries(
        rowsOf<{ status: string; n: number }>(
          await t.db.execute(sql`select status, count(*)::int as n from deliveries group by status`),
        ).map((r) => [r.status, r.n]),
      );
    try {
      await waitFor(async () => (await counts()).sent === expected, 180_000, `${expected} deliveries sent`, 200);
    } catch (err) {
      console.error('counts', await counts());
      for (const p of [...dispatchers, ...apis.map((a) => a.proc)]) console.error(p.output().slice(-2000));
      throw err;
    }
    const seconds = (Date.now() - started) / 1000;

    // Per provider: messages taken for each delivery, and repeats.
    const byChannel = Object.fromEntries(
      rowsOf<{ channel: string; n: number }>(
        await t.db.execute(sql`select channel, count(*)::int as n from deliveries group by channel`),
      ).map((r) => [r.channel, r.n]),
    );
    const providers = {
      wechat: {
        deliveries: byChannel.wechat,
        taken: wechat.messages.length,
        requestsRepeated: repeated(wechat.sent.map((b) => String(b.client_msg_id))),
        acceptedTwice: repeated(wechat.messages.map((m) => String(m.body.client_msg_id))),
      },
      sms: {
        deliveries: byChannel.sms,
        taken: twilio.created.size,
        acceptedTwice: repeated(twilio.messages.filter((m) => m.sid).map((m) => smsKey(m.form))),
      },
      email: {
        deliveries: byChannel.email,
        taken: smtp.messages.length,
        acceptedTwice: repeated(smtp.messages.map((m) => String(m.messageId))),
      },
    };
    console.log(`multi-instance: ${expected} deliveries in ${seconds.toFixed(1)} s;`, JSON.stringify(providers));
    for (const p of Object.values(providers)) {
      expect(p.taken).toBe(p.deliveries);
      expect(p.acceptedTwice).toBe(0);
    }
    // Each channel leads for about a third of the contacts, and the urgent policy uses all three.
    expect(byChannel.wechat + byChannel.sms + byChannel.email).toBe(expected);
    for (const c of ['wechat', 'sms', 'email']) expect(byChannel[c]).toBeGreaterThan(N + N / 2);

    // One push per policy, each fanned out once; the scheduled one not before its time.
    const pushes = rowsOf<{ doc: string; n: number; status: string; matched: number; started: Date; first_sent: Date }>(
      await t.db.execute(sql`
        select pol.doc_number as doc, count(distinct p.id)::int as n, min(p.status) as status, sum(p.matched)::int as matched,
          min(p.fanned_out_at) as started, (select min(sent_at) from deliveries d where d.policy_id = pol.id) as first_sent
        from policies pol join pushes p on p.policy_id = pol.id group by pol.id order by pol.doc_number`),
    );
    expect(pushes.map((p) => [p.doc, p.n, p.status, p.matched])).toEqual([
      ['MULTI-A', 1, 'fanned_out', N],
      ['MULTI-B', 1, 'fanned_out', N],
      ['MULTI-SCHEDULED', 1, 'fanned_out', N],
      ['MULTI-URGENT', 1, 'fanned_out', 3 * N],
    ]);
    const scheduled = pushes.find((p) => p.doc === 'MULTI-SCHEDULED')!;
    expect(new Date(scheduled.first_sent).getTime()).toBeGreaterThanOrEqual(publishAt.getTime() - 1000);

    // Periodic jobs: one run per firing across the three replicas. The lease sweep fires every
    // second: about one row per second of the run, not three.
    const runs = rowsOf<{ job: string; runs: number; slots: number }>(
      await t.db.execute(sql`select job, count(*)::int as runs, count(distinct slot)::int as slots from job_runs group by job`),
    );
    console.log('job runs:', JSON.stringify(runs));
    for (const r of runs) expect(r.runs).toBe(r.slots);
    const sweeps = runs.find((r) => r.job === 'lease-sweep')!;
    expect(sweeps.runs).toBeGreaterThan(0);
    expect(sweeps.runs).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1);
    // The WeChat token: fetched once, by one process under the refresh lock, and shared.
    expect(wechat.tokenRequests).toHaveLength(1);
  });
});
