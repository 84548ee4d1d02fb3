// Issue 6, test keys: with all three real providers configured (the testkit fakes and an SMTP
// server), a policy published with a test key reaches none of them — every message goes through
// the sandbox and its deliveries say test — while the same publish with a live key reaches them.
// Test policies skip digests and stay out of reach reports.
import { rowsOf, sql } from '@policy-push/db';
import { freePort, type ProviderFakes, startProviderFakes } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, call, keyHeaders, policyBody, seedWorld, type TestApp, startTestDispatcher } from './helpers';

describe('test keys', () => {
  let h: TestApp;
  let fakes: ProviderFakes;
  let dispatcher: Awaited<ReturnType<typeof startTestDispatcher>>;

  beforeAll(async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    fakes = await startProviderFakes({ wechatCallbackUrl: `${base}/webhooks/wechat` });
    fakes.twilio.setBehaviour({ autoStatus: { statuses: ['sent', 'delivered'] } });
    h = await buildTestApp({
      ...fakes.env,
      PUBLIC_BASE_URL: base,
      QUIET_HOURS: '00:00-00:00',
      DISPATCH_POLL_MS: '20',
    });
    await h.app.listen({ port, host: '127.0.0.1' });
    dispatcher = await startTestDispatcher(h);
  });
  afterAll(async () => {
    await dispatcher.stop();
    await h.close();
    await fakes.close();
  });

  it('sends a test key’s policy through the sandbox only, and the same with a live key to the providers', async () => {
    const world = await seedWorld(h, [
      { wechatOpenid: 'openid-follower', channels: ['wechat', 'sms'] },
      { phone: '+12025550160', channels: ['sms'] },
      { email: 'contact@example.com', channels: ['email'] },
      { phone: '+12025550161', channels: ['sms'] },
    ]);
    await call(h, 'PATCH', `/v1/departments/${world.department.id}`, {
      wechatTemplate: { templateId: 'tmpl-policy', fields: [{ key: 'thing1', type: 'thing' }] },
    });
    // The last enterprise reads a daily digest: a live policy waits for it, a test one does not.
    const [daily] = (await call(h, 'GET', `/v1/subscriptions?enterpriseId=${world.enterprises[3].enterprise.id}`)).items;
    await call(h, 'PATCH', `/v1/subscriptions/${daily.id}`, { frequency: 'daily' }, 200);

    const scope = { role: 'publisher' as const, departmentIds: [Number(world.department.id)] };
    const testKey = await keyHeaders(h, { ...scope, mode: 'test' });
    const liveKey = await keyHeaders(h, scope);

    const published = await h.app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: testKey,
      payload: policyBody(world.department.id, world.category.id),
    });
    expect(published.statusCode, published.body).toBe(202);
    const testPolicy = published.json().policy;
    expect(testPolicy.test).toBe(true);

    const log = async (policyId: string) => (await call(h, 'GET', `/v1/deliveries?policyId=${policyId}&limit=100`, undefined, 200)).items;
    await vi.waitFor(
      async () =>
        expect((await log(testPolicy.id)).map((d: { status: string }) => d.status)).toEqual([
          'delivered',
          'delivered',
          'delivered',
          'delivered',
        ]),
      { timeout: 20_000, interval: 100 },
    );
    const testDeliveries = await log(testPolicy.id);
    expect(testDeliveries.every((d: { test: boolean }) => d.test)).toBe(true);
    const providers = rowsOf<{ provider: string }>(
      await h.t.db.execute(
        sql`select distinct a.provider from delivery_attempts a join deliveries d on d.id = a.delivery_id where d.policy_id = ${Number(testPolicy.id)}`,
      ),
    );
    expect(providers.map((p) => p.provider)).toEqual(['sandbox']);
    // The providers got nothing: a send reaches its provider before its delivery is acked, and
    // every delivery is acked, so a stray real send would already be here.
    expect([fakes.twilio.messages.length, fakes.wechat.messages.length, fakes.smtp.messages.length]).toEqual([0, 0, 0]);

    // A test key may not change a live policy (its update notices would reach real people).
    const live = await h.app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: liveKey,
      payload: policyBody(world.department.id, world.category.id),
    });
    expect(live.statusCode, live.body).toBe(202);
    const livePolicy = live.json().policy;
    expect(livePolicy.test).toBe(false);
    const amend = await h.app.inject({ method: 'PATCH', url: `/v1/policies/${livePolicy.id}`, headers: testKey, payload: { title: '改' } });
    expect([amend.statusCode, amend.json().error.code]).toEqual([403, 'live_policy']);

    await vi.waitFor(() => expect(fakes.wechat.messages).toHaveLength(1), { timeout: 15_000 });
    await fakes.wechat.sendReceipt(fakes.wechat.messages[0].msgid, 'success');
    await vi.waitFor(
      async () =>
        expect((await log(livePolicy.id)).map((d: { status: string }) => d.status).sort()).toEqual([
          'delivered',
          'delivered',
          'held',
          'sent',
        ]),
      { timeout: 20_000, interval: 100 },
    );
    expect((await log(livePolicy.id)).some((d: { test: boolean }) => d.test)).toBe(false);
    expect(fakes.twilio.messages.map((m) => m.form.To)).toEqual(['+12025550160']);
    expect(fakes.smtp.messages.flatMap((m) => m.envelope.to)).toEqual(['contact@example.com']);

    // Reports are of live data: the test policy is not counted.
    const report = await call(h, 'GET', `/v1/reports/reach?departmentId=${world.department.id}`, undefined, 200);
    expect(report.policies).toBe(1);
  });
});
