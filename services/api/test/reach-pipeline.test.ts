// Reach end to end on the sandbox: publish → send → receipts → the funnel; the link in each message
// is the signed open redirect, and following it moves awareness.
import { rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, call, policyBody, seedWorld, type TestApp, startSandboxDispatcher } from './helpers';

const PUBLIC_BASE_URL = 'https://push.example.org';

describe('reach through the pipeline', () => {
  let h: TestApp;
  let sandbox: Awaited<ReturnType<typeof startSandboxDispatcher>>;

  beforeAll(async () => {
    h = await buildTestApp({ PUBLIC_BASE_URL });
    sandbox = await startSandboxDispatcher(h, { PUBLIC_BASE_URL });
  });
  afterAll(async () => {
    await sandbox.stop();
    await h.close();
  });

  it('counts the funnel of a published policy, and a click on the link in its SMS counts once for awareness', async () => {
    const world = await seedWorld(h, [
      { phone: '13800138000' },
      { email: 'ok@example.com' },
      { wechatOpenid: 'openid-reach-1' },
      { phone: '+12025550103' }, // sandbox: permanent failure
      { phone: '+12025550106' }, // sandbox: accepted, then undelivered
    ]);
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    const progress = () => call(h, 'GET', `/v1/policies/${policy.id}/push`, undefined, 200);
    await vi.waitFor(async () => expect(await progress()).toMatchObject({ done: true, pending: 0, sending: 0, sent: 0 }), {
      timeout: 15_000,
      interval: 50,
    });

    const reach = await call(h, 'GET', `/v1/policies/${policy.id}/reach`, undefined, 200);
    expect(reach.addressableKnown).toBe(true);
    expect(reach.totals).toEqual({
      targeted: 5,
      addressable: 5,
      unaddressable: { noContact: 0, noAddress: 0, optedOut: 0, emailUnconfirmed: 0 },
      withDelivery: 5,
      sent: 4,
      delivered: 3,
      reached: 3,
      engaged: 0,
      lateMatched: 0,
      reachRate: 0.6,
      awareness: 0,
    });
    expect(reach.byDistrict).toEqual([expect.objectContaining({ district: '440106', nameZh: '天河区', targeted: 5, reached: 3 })]);
    expect(reach.failures).toEqual([
      { channel: 'sms', errorCode: 'SANDBOX_PERMANENT', deliveries: 1 },
      { channel: 'sms', errorCode: 'SANDBOX_UNDELIVERED', deliveries: 1 },
    ]);
    // Every attempt names its provider.
    const bySandbox = await call(h, 'GET', `/v1/deliveries?policyId=${policy.id}&provider=sandbox`, undefined, 200);
    expect(bySandbox.items).toHaveLength(5);

    // The messages link through /r/<token>, never straight to the policy.
    const smsDelivery = (
      await call(h, 'GET', `/v1/deliveries?policyId=${policy.id}&contactId=${world.enterprises[0].contact.id}`, undefined, 200)
    ).items[0];
    await sandbox.adapters.close(); // flushes the sandbox recorder
    const messages = rowsOf<{ delivery_id: string; channel: string; content: Record<string, string> }>(
      await h.t.db.execute(sql`select delivery_id, channel, content from sandbox_messages order by id`),
    );
    const sms = messages.find((m) => Number(m.delivery_id) === Number(smsDelivery.id))!;
    const link = sms.content.text.match(/https:\/\/push\.example\.org\/r\/[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]{22}/)?.[0];
    expect(link, sms.content.text).toBeDefined();
    expect(sms.content.text).not.toContain(policyBody('', '').url);
    expect(messages.find((m) => m.channel === 'wechat')!.content.url).toMatch(/^https:\/\/push\.example\.org\/r\//);
    expect(messages.find((m) => m.channel === 'email')!.content.html).toMatch(/href="https:\/\/push\.example\.org\/r\//);

    // Read a while after it was sent, in a browser (sooner, or by a scanner, would not count).
    await h.t.db.execute(sql`update deliveries set sent_at = sent_at - interval '5 minutes' where id = ${Number(smsDelivery.id)}`);
    for (let i = 0; i < 2; i++) {
      const click = await h.app.inject({
        method: 'GET',
        url: new URL(link!).pathname,
        headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148' },
      });
      expect(click.statusCode).toBe(302);
      expect(click.headers.location).toBe(policyBody('', '').url);
    }
    const after = await call(h, 'GET', `/v1/policies/${policy.id}/reach`, undefined, 200);
    expect(after.totals).toMatchObject({ engaged: 1, awareness: 0.2 });
    expect(after.byChannel.find((c: any) => c.channel === 'sms')).toMatchObject({ targeted: 3, delivered: 1, engaged: 1 });

    const detail = await call(h, 'GET', `/v1/deliveries/${smsDelivery.id}`, undefined, 200);
    expect(detail.timeline.map((e: any) => e.type)).toEqual(['matched', 'attempt', 'receipt', 'opened', 'last_opened']);
    expect(detail.timeline[1]).toMatchObject({ provider: 'sandbox', outcome: 'accepted' });
  });

  it('counts the subscribed enterprises a WeChat-only policy could not address as targeted, not as addressable', async () => {
    // Three subscribers who take WeChat only; two of them have no openid.
    const world = await seedWorld(h, [
      { wechatOpenid: 'openid-reach-wx', channels: ['wechat'] },
      { phone: '13800138001', channels: ['wechat'] },
      { email: 'no-openid@example.com', channels: ['wechat'] },
    ]);
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    const reach = () => call(h, 'GET', `/v1/policies/${policy.id}/reach`, undefined, 200);
    const progress = () => call(h, 'GET', `/v1/policies/${policy.id}/push`, undefined, 200);
    await vi.waitFor(async () => expect(await progress()).toMatchObject({ done: true, pending: 0, sending: 0 }), {
      timeout: 20_000,
      interval: 100,
    });
    const answer = await reach();
    expect(answer.addressableKnown).toBe(true);
    // Before, targeted was 1 (only the enterprise with a delivery), so the rate was reached ÷ 1.
    expect(answer.totals).toMatchObject({
      targeted: 3,
      addressable: 1,
      withDelivery: 1,
      sent: 1,
      unaddressable: { noContact: 0, noAddress: 2, optedOut: 0, emailUnconfirmed: 0 },
    });
    // The WeChat receipt may still be on its way: the rate is over targeted whatever reached is.
    expect(answer.totals.reachRate).toBe(Math.round((answer.totals.reached / 3) * 10_000) / 10_000);
    const report = await call(h, 'GET', `/v1/reports/reach?departmentId=${world.department.id}`, undefined, 200);
    expect(report.totals).toMatchObject({ targeted: 3, addressable: 1 });
  });
});
