// Issue 3, end to end: a policy published with all three providers configured — the real twilio
// SDK, the WeChat client and nodemailer talking to the testkit fakes and a real SMTP server —
// reaches every reachable contact, falls back where a channel fails, and the delivery log shows
// each receipt that came back through the webhooks.
import { rowsOf, sql } from '@policy-push/db';
import { freePort, type ProviderFakes, startProviderFakes } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, call, policyBody, seedWorld, type TestApp, startTestDispatcher } from './helpers';

describe('all three providers, end to end', () => {
  let h: TestApp;
  let fakes: ProviderFakes;
  let dispatcher: Awaited<ReturnType<typeof startTestDispatcher>>;

  beforeAll(async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    fakes = await startProviderFakes({ wechatCallbackUrl: `${base}/webhooks/wechat` });
    fakes.twilio.setBehaviour({ autoStatus: { statuses: ['sent', 'delivered'] }, errorsByTo: { '+12025550177': 21211 } });
    fakes.wechat.setBehaviour({ errorFor: { 'openid-not-following': 43004 } });
    h = await buildTestApp({
      ...fakes.env,
      PUBLIC_BASE_URL: base,
      QUIET_HOURS: '00:00-00:00',
      DISPATCH_POLL_MS: '20',
      // WeChat's quota reopens at midnight in Beijing: a one-minute deliver-by is past it at any hour but 23:59.
      URGENT_DELIVER_BY_MINUTES: '1',
    });
    await h.app.listen({ port, host: '127.0.0.1' });
    dispatcher = await startTestDispatcher(h);
  });
  afterAll(async () => {
    await dispatcher.stop();
    await h.close();
    await fakes.close();
  });

  it('reaches every reachable contact and logs every receipt', async () => {
    const world = await seedWorld(h, [
      { wechatOpenid: 'openid-follower', channels: ['wechat', 'sms'] },
      { wechatOpenid: 'openid-not-following', phone: '+12025550150', channels: ['wechat', 'sms'] }, // 43004 → SMS
      { phone: '+12025550177', email: 'fallback@example.com', channels: ['sms', 'email'] }, // 21211 → email
      { phone: '+12025550160', channels: ['sms'] },
      { email: '企业联系人@example.com'.replace('企业联系人', 'contact'), channels: ['email'] },
    ]);
    await call(
      h,
      'PATCH',
      `/v1/departments/${world.department.id}`,
      {
        wechatTemplate: {
          templateId: 'tmpl-policy',
          fields: [
            { key: 'thing1', type: 'thing' },
            { key: 'thing2', type: 'thing' },
            { key: 'time3', type: 'time' },
          ],
        },
      },
      200,
    );
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);

    // WeChat reports TEMPLATESENDJOBFINISH to our webhook once the message is taken.
    await vi.waitFor(() => expect(fakes.wechat.messages).toHaveLength(1), { timeout: 15_000 });
    await fakes.wechat.sendReceipt(fakes.wechat.messages[0].msgid, 'success');

    const log = () => call(h, 'GET', `/v1/deliveries?policyId=${policy.id}&limit=100`, undefined, 200);
    await vi.waitFor(
      async () => {
        const statuses = (await log()).items.map((d: { status: string }) => d.status).sort();
        expect(statuses).toEqual(['delivered', 'delivered', 'delivered', 'failed', 'failed', 'sent', 'sent']);
      },
      { timeout: 20_000, interval: 100 },
    );

    const items = (await log()).items as {
      id: string;
      contactId: string;
      channel: string;
      status: string;
      errorCode: string | null;
      fallbackOf: string | null;
    }[];
    const of = (i: number) =>
      items.filter((d) => d.contactId === world.enterprises[i].contact.id).sort((a, b) => Number(a.id) - Number(b.id));
    expect(of(0).map((d) => [d.channel, d.status])).toEqual([['wechat', 'delivered']]);
    const [notFollowing, smsFallback] = of(1);
    expect([notFollowing.channel, notFollowing.status, notFollowing.errorCode]).toEqual(['wechat', 'failed', '43004']);
    expect([smsFallback.channel, smsFallback.status, smsFallback.fallbackOf]).toEqual(['sms', 'delivered', notFollowing.id]);
    const [badNumber, emailFallback] = of(2);
    expect([badNumber.channel, badNumber.status, badNumber.errorCode]).toEqual(['sms', 'failed', '21211']);
    expect([emailFallback.channel, emailFallback.status, emailFallback.fallbackOf]).toEqual(['email', 'sent', badNumber.id]);
    expect(of(3).map((d) => [d.channel, d.status])).toEqual([['sms', 'delivered']]);
    expect(of(4).map((d) => [d.channel, d.status])).toEqual([['email', 'sent']]);

    // The delivery log shows the receipts that came back.
    const wechatDetail = await call(h, 'GET', `/v1/deliveries/${of(0)[0].id}`, undefined, 200);
    expect(wechatDetail.history.events.map((e: { type: string }) => e.type)).toEqual(['delivered']);
    const smsDetail = await call(h, 'GET', `/v1/deliveries/${of(3)[0].id}`, undefined, 200);
    expect(smsDetail.history.events.map((e: { type: string }) => e.type).sort()).toEqual(['delivered', 'sent']);
    expect(smsDetail.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);

    // What the providers received: a WeChat template with the delivery id, Twilio forms, real mail.
    expect(fakes.wechat.messages[0].body).toMatchObject({
      touser: 'openid-follower',
      template_id: 'tmpl-policy',
      client_msg_id: of(0)[0].id,
    });
    const smsForms = fakes.twilio.messages.map((m) => m.form);
    expect(smsForms.map((f) => f.To).sort()).toEqual(['+12025550150', '+12025550160', '+12025550177']);
    expect(
      smsForms.every(
        (f) => f.Body.startsWith('【广州测试】') && f.StatusCallback === `${h.app.deps.config.publicBaseUrl}/webhooks/twilio/status`,
      ),
    ).toBe(true);
    expect(fakes.smtp.messages.flatMap((m) => m.envelope.to).sort()).toEqual(['contact@example.com', 'fallback@example.com']);
    const counts = rowsOf<{ n: number }>(await h.t.db.execute(sql`select count(*)::int as n from sandbox_messages`));
    expect(counts[0].n).toBe(0); // nothing went to the sandbox
  });

  it('a WeChat daily quota on an urgent policy: the SMS still reaches the contact within its deliver-by time', async () => {
    const world = await seedWorld(h, [{ wechatOpenid: 'openid-quota', phone: '+12025550161', channels: ['wechat', 'sms'] }]);
    await call(
      h,
      'PATCH',
      `/v1/departments/${world.department.id}`,
      {
        wechatTemplate: { templateId: 'tmpl-policy', fields: [{ key: 'thing1', type: 'thing' }] },
      },
      200,
    );
    fakes.wechat.setBehaviour({ errorFor: { 'openid-quota': 45009 } });
    const { policy } = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { priority: 'urgent' }),
      202,
    );
    await vi.waitFor(
      async () => {
        const items = (await call(h, 'GET', `/v1/deliveries?policyId=${policy.id}`, undefined, 200)).items;
        expect(
          items.map((d: { channel: string; status: string; errorCode: string | null }) => [d.channel, d.status, d.errorCode]).sort(),
        ).toEqual([
          ['sms', 'delivered', null],
          ['wechat', 'failed', '45009'],
        ]);
      },
      { timeout: 20_000, interval: 100 },
    );
    // The quota closed WeChat until midnight in Beijing, past the urgent policy's deliver-by time.
    const [pause] = rowsOf<{ channel: string; reason: string }>(await h.t.db.execute(sql`select channel, reason from channel_pauses`));
    expect(pause).toEqual({ channel: 'wechat', reason: '45009' });
    await h.t.db.execute(sql`delete from channel_pauses`);
  });
});
