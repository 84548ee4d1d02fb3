// publish → fan-out → claim → send → receipt, through the API and a real dispatcher on the sandbox.
import { rowsOf, sql } from '@policy-push/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, call, policyBody, seedWorld, tableCounts, type TestApp, startSandboxDispatcher } from './helpers';

describe('the push pipeline', () => {
  let h: TestApp;
  let sandbox: Awaited<ReturnType<typeof startSandboxDispatcher>>;

  beforeAll(async () => {
    h = await buildTestApp();
    sandbox = await startSandboxDispatcher(h, { RETRY_BASE_MS: '1', RETRY_CAP_MS: '5', MAX_ATTEMPTS: '3' });
  });
  afterAll(async () => {
    await sandbox.stop();
    await h.close();
  });

  const progressOf = (id: string) => call(h, 'GET', `/v1/policies/${id}/push`, undefined, 200);

  it('publishes, fans out, sends and records delivery receipts', async () => {
    const world = await seedWorld(h, [
      { phone: '13800138000', channels: ['sms', 'email'] },
      { email: 'ok@example.com' },
      { wechatOpenid: 'openid-123456', phone: '13900139000' },
      { phone: '+12025550103' }, // sandbox: permanent failure
      { phone: '+12025550106' }, // sandbox: accepted, then undelivered
      { phone: '+12025550102' }, // sandbox: fails once, then accepted
      { phone: '+12025550101' }, // sandbox: always a temporary failure
    ]);
    const published = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    expect(published.policy).toMatchObject({ status: 'published', version: 1, priority: 'normal' });
    expect(published.push.done).toBe(false);

    await vi.waitFor(async () => expect((await progressOf(published.policy.id)).done).toBe(true), { timeout: 15_000, interval: 50 });
    await vi.waitFor(async () => expect((await progressOf(published.policy.id)).sent).toBe(0), { timeout: 15_000, interval: 50 });
    const progress = await progressOf(published.policy.id);
    expect(progress).toMatchObject({ matched: 7, delivered: 4, undelivered: 1, failed: 2, pending: 0, sending: 0, status: 'fanned_out' });

    const deliveries = await call(h, 'GET', `/v1/deliveries?policyId=${published.policy.id}&limit=100`, undefined, 200);
    const byContact = new Map(deliveries.items.map((d: any) => [d.contactId, d]));
    const [sms, email, wechat, permanent, undelivered, flaky, temporary] = world.enterprises.map((e) => byContact.get(e.contact.id) as any);
    expect([sms.channel, email.channel, wechat.channel]).toEqual(['sms', 'email', 'wechat']);
    expect(sms.why.categoryIds).toEqual([world.category.id]);
    expect(permanent).toMatchObject({ status: 'failed', errorCode: 'SANDBOX_PERMANENT', attempts: 1 });
    expect(undelivered).toMatchObject({ status: 'undelivered', errorCode: 'SANDBOX_UNDELIVERED' });
    // Retried with backoff up to the channel's limit (MAX_ATTEMPTS=3), then failed.
    expect(temporary).toMatchObject({ status: 'failed', errorCode: 'SANDBOX_TEMPORARY', attempts: 3 });

    const detail = await call(h, 'GET', `/v1/deliveries/${flaky.id}`, undefined, 200);
    expect(detail.status).toBe('delivered');
    expect(detail.history.attempts.map((a: any) => a.outcome)).toEqual(['retryable', 'accepted']);
    expect(detail.history.events.map((e: any) => e.type)).toEqual(['delivered']);

    // The sandbox recorded the real rendered message.
    await sandbox.adapters.close();
    const [recorded] = rowsOf<{ content: { text: string } }>(
      await h.t.db.execute(sql`select content from sandbox_messages where delivery_id = ${Number(sms.id)}`),
    );
    expect(recorded.content.text).toContain('【广州测试】');
    expect(recorded.content.text).toContain('广州市支持中小企业共渡难关');
  });

  it('pushing the same version again creates nothing new', async () => {
    const world = await seedWorld(h, [{ email: 'a@example.com' }, { email: 'b@example.com' }]);
    const { policy } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    await vi.waitFor(async () => expect((await progressOf(policy.id)).done).toBe(true), { timeout: 15_000, interval: 50 });
    const before = await tableCounts(h.t);
    const again = await call(h, 'POST', `/v1/policies/${policy.id}/push`, undefined, 202);
    expect(again.status).toBe('fanning_out');
    await vi.waitFor(async () => expect((await progressOf(policy.id)).status).toBe('fanned_out'), { timeout: 15_000, interval: 50 });
    const after = await tableCounts(h.t);
    expect(after.deliveries).toBe(before.deliveries);
    expect(after.delivery_attempts).toBe(before.delivery_attempts);
    expect((await progressOf(policy.id)).matched).toBe(2);
  });
});
