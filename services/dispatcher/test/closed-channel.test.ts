// No churn on a channel that cannot send now (issue 13): while a provider's circuit is open its
// deliveries are not claimed at all (no claim, no ack, no allowance spent), the other channels
// keep flowing, and the channel resumes once the circuit half-opens. Counted in claims and
// provider calls; the breaker's clock is the dispatcher's, moved by hand.
import type { Channel, ChannelAdapter, OutboundMessage, SendResult } from '@policy-push/channels';
import { createLogger, parseConfig } from '@policy-push/core';
import { rowsOf } from '@policy-push/db';
import { acceptingAdapter, countingAdapter, createTestDb, seedPolicy, seedSubscribers, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDispatcher } from '../src/dispatcher';
import { deliverBy } from '../src/jobs/deliver-by';

const logger = createLogger({ level: 'silent' });
const secret = 'test-signing-secret-0123456789abcdef';
const COOLDOWN_MS = 60_000;

interface Row {
  id: string;
  channel: string;
  status: string;
  attempts: number;
  error_code: string | null;
  touched: boolean;
}

const rows = async (t: TestDb, channel: string) =>
  rowsOf<Row>(
    await t.db.execute(sql`
      select id, channel, status, attempts, error_code, updated_at <> created_at as touched
      from deliveries where channel = ${channel} order by id`),
  );

/** Half the contacts on SMS only, half on WeChat only, each with an address of its own. */
async function smsAndWechat(t: TestDb, n: number) {
  const s = await seedSubscribers(t.db, n);
  await t.db.execute(sql`
    update contacts set phone = '+120255501' || lpad((10 + id % 90)::text, 2, '0'), wechat_openid = 'oWx' || id,
      channels = case when id % 2 = 0 then '{sms}'::text[] else '{wechat}'::text[] end`);
  return s;
}

describe('a channel whose circuit is open', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('is not claimed while open, the other channels keep flowing, and it resumes when the circuit half-opens', async () => {
    const s = await smsAndWechat(t, 6);
    await seedPolicy(t.db, s);
    let now = Date.parse('2026-11-27T12:00:00+08:00');
    let smsDown = true;
    const calls: OutboundMessage[] = [];
    const sms: ChannelAdapter = {
      channel: 'sms',
      provider: 'test',
      send: async (m): Promise<SendResult> =>
        smsDown
          ? { outcome: 'retryable', code: 'provider_down', message: 'down' }
          : { outcome: 'accepted', providerMessageId: `sms-${m.deliveryId}` },
    };
    const adapters: Record<Channel, ChannelAdapter> = {
      wechat: countingAdapter(acceptingAdapter('wechat'), calls),
      sms: countingAdapter(sms, calls),
      email: countingAdapter(acceptingAdapter('email'), calls),
    };
    const d = await startDispatcher({
      // One delivery per claim and one failure opens the circuit: exactly one SMS meets the outage.
      config: parseConfig({
        QUIET_HOURS: '00:00-00:00',
        DISPATCH_POLL_MS: '20',
        DISPATCH_BATCH_SIZE: '1',
        BREAKER_FAILURES: '1',
        BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      }),
      db: t,
      logger,
      signingSecret: secret,
      withJobs: false,
      now: () => now,
      adapters,
    });
    try {
      const smsCalls = () => calls.filter((m) => m.channel === 'sms').length;
      await vi.waitFor(async () => expect((await rows(t, 'wechat')).filter((r) => r.status === 'sent')).toHaveLength(3), 20_000);
      await vi.waitFor(() => expect(smsCalls()).toBe(1));
      // A second push while the circuit stays open: its WeChat messages go out (so the claim loop
      // ran on), its SMS deliveries wait beside the first push's.
      await seedPolicy(t.db, s);
      await vi.waitFor(async () => expect((await rows(t, 'wechat')).filter((r) => r.status === 'sent')).toHaveLength(6), 20_000);
      const waiting = await rows(t, 'sms');
      expect(waiting).toHaveLength(6);
      expect(smsCalls()).toBe(1);
      // The one that met the outage waits for its retry; every other SMS delivery was never claimed.
      const [failed, ...untouched] = [...waiting].sort((a, b) => b.attempts - a.attempts);
      expect([failed.status, failed.attempts, failed.error_code]).toEqual(['pending', 1, 'provider_down']);
      expect(untouched.map((r) => [r.status, r.attempts, r.error_code, r.touched])).toEqual(Array(5).fill(['pending', 0, null, false]));

      // The cooldown passes and the provider is back: the half-open circuit lets a probe through,
      // it succeeds, and the channel flows again. (The failed one's retry is brought forward, not waited for.)
      smsDown = false;
      now += COOLDOWN_MS + 1;
      await t.db.execute(sql`update deliveries set next_attempt_at = now() where id = ${failed.id}`);
      await vi.waitFor(async () => expect((await rows(t, 'sms')).filter((r) => r.status === 'sent')).toHaveLength(6), 20_000);
      expect(smsCalls()).toBe(1 + 6);
    } finally {
      await d.stop();
    }
  });

  it('its unclaimed deliveries fall back once past their deliver-by time', async () => {
    const s = await seedSubscribers(t.db, 2);
    await t.db.execute(sql`update contacts set phone = '+120255501' || lpad((10 + id % 90)::text, 2, '0'), channels = '{sms,email}'`);
    const { policy } = await seedPolicy(t.db, s);
    const [{ publish_at }] = rowsOf<{ publish_at: string }>(
      await t.db.execute(sql`select publish_at::text from policies where id = ${policy.id}`),
    );
    const { fanOutNextChunk } = await import('@policy-push/db');
    while (await fanOutNextChunk(t.db, 100));
    const settings = parseConfig({ DELIVER_BY_MINUTES: '1' }).dispatcher;
    const job = { db: t.db, logger, settings, providers: { wechat: 'test', sms: 'test', email: 'test' } };
    // Past the deliver-by time with SMS flowing: nothing to do.
    await deliverBy.run({ ...job, openCircuits: () => [] }, new Date(Date.parse(publish_at) + 90_000));
    expect((await rows(t, 'sms')).map((r) => r.status)).toEqual(['pending', 'pending']);
    // With the SMS circuit open in the dispatcher that runs the sweep: they fall back to email.
    await deliverBy.run({ ...job, openCircuits: () => ['sms'] }, new Date(Date.parse(publish_at) + 90_000));
    expect((await rows(t, 'sms')).map((r) => [r.status, r.error_code])).toEqual(Array(2).fill(['failed', 'deliver_by_passed']));
    expect((await rows(t, 'email')).map((r) => r.status)).toEqual(['pending', 'pending']);
  });
});
