// Reach when a channel fails: fallback to the contact's next channel, pauses instead of burnt attempts.
import type { Channel, ChannelAdapter, OutboundMessage, SendResult } from '@policy-push/channels';
import { createLogger, parseConfig } from '@policy-push/core';
import { claimDeliveries, fanOutNextChunk, rowsOf } from '@policy-push/db';
import { acceptingAdapter, countingAdapter, createTestDb, seedPolicy, seedSubscribers, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDispatcher } from '../src/dispatcher';
import { deliverBy } from '../src/jobs/deliver-by';

const logger = createLogger({ level: 'silent' });
const secret = 'test-signing-secret-0123456789abcdef';

/** Subscribers whose contacts can be reached by SMS first, then email. */
async function smsThenEmail(t: TestDb, n: number) {
  const s = await seedSubscribers(t.db, n);
  // Distinct numbers in the fictional 555-01xx range: a shared one would get one message (merged).
  await t.db.execute(sql`update contacts set phone = '+120255501' || lpad((10 + id % 90)::text, 2, '0'), channels = '{sms,email}'`);
  return s;
}

function adapters(sms: (m: OutboundMessage) => Promise<SendResult>, calls: OutboundMessage[]): Record<Channel, ChannelAdapter> {
  const smsAdapter: ChannelAdapter = { channel: 'sms', provider: 'test', send: sms };
  return {
    wechat: acceptingAdapter('wechat'),
    sms: countingAdapter(smsAdapter, calls),
    email: countingAdapter(acceptingAdapter('email'), calls),
  };
}

const rows = async (t: TestDb) =>
  rowsOf<{ id: string; channel: string; status: string; fallback_of: string | null; attempts: number; error_code: string | null }>(
    await t.db.execute(sql`select id, channel, status, fallback_of, attempts, error_code from deliveries order by id`),
  );

describe('reach', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('a permanent SMS failure falls back to email for the same contact, linked to the first', async () => {
    const s = await smsThenEmail(t, 3);
    await seedPolicy(t.db, s);
    const calls: OutboundMessage[] = [];
    const config = parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20' });
    const d = await startDispatcher({
      config,
      db: t,
      logger,
      signingSecret: secret,
      withJobs: false,
      adapters: adapters(async () => ({ outcome: 'permanent', code: '21211', message: 'invalid To' }), calls),
    });
    await vi.waitFor(async () => expect((await rows(t)).filter((r) => r.status === 'sent')).toHaveLength(3));
    await d.stop();
    const all = await rows(t);
    const sms = all.filter((r) => r.channel === 'sms');
    expect(sms.map((r) => [r.status, r.error_code])).toEqual(Array(3).fill(['failed', '21211']));
    const email = all.filter((r) => r.channel === 'email');
    expect(email.map((r) => r.fallback_of).sort()).toEqual(sms.map((r) => r.id).sort());
    expect(calls.map((m) => m.channel).sort()).toEqual(['email', 'email', 'email', 'sms', 'sms', 'sms']);
  });

  it('a 429 pauses the channel for its Retry-After without spending attempts', async () => {
    const s = await smsThenEmail(t, 4);
    await seedPolicy(t.db, s);
    const calls: OutboundMessage[] = [];
    const config = parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20', DISPATCH_BATCH_SIZE: '1', DISPATCH_CONCURRENCY: '1' });
    const d = await startDispatcher({
      config,
      db: t,
      logger,
      signingSecret: secret,
      withJobs: false,
      adapters: adapters(
        async () => ({ outcome: 'retryable', code: '20429', message: 'Too Many Requests', retryAfterMs: 3_600_000, pauseChannel: true }),
        calls,
      ),
    });
    await vi.waitFor(async () => expect((await rows(t)).filter((r) => r.error_code === '20429')).toHaveLength(1));
    await d.stop();
    // One call reached the closed provider; the rest were never claimed while the channel is paused.
    expect(calls).toHaveLength(1);
    const all = await rows(t);
    expect(all.every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true);
    const [pause] = rowsOf<{ channel: string; reason: string }>(await t.db.execute(sql`select channel, reason from channel_pauses`));
    expect(pause).toEqual({ channel: 'sms', reason: '20429' });
    expect(await claimDeliveries(t.db, { limit: 10, leaseSeconds: 60 })).toEqual([]);
  });

  it('a pause that outlasts the deliver-by time falls back instead of waiting', async () => {
    const s = await smsThenEmail(t, 2);
    await seedPolicy(t.db, s);
    const calls: OutboundMessage[] = [];
    const config = parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20', DELIVER_BY_MINUTES: '30' });
    const d = await startDispatcher({
      config,
      db: t,
      logger,
      signingSecret: secret,
      withJobs: false,
      // WeChat's 45009 or an SMS quota: closed until tomorrow, past the policy's deliver-by time.
      adapters: adapters(
        async () => ({ outcome: 'retryable', code: 'quota', message: 'daily quota', retryAfterMs: 6 * 3_600_000, pauseChannel: true }),
        calls,
      ),
    });
    await vi.waitFor(async () => expect((await rows(t)).filter((r) => r.channel === 'email' && r.status === 'sent')).toHaveLength(2));
    await d.stop();
    expect((await rows(t)).filter((r) => r.channel === 'sms').map((r) => [r.status, r.error_code])).toEqual(
      Array(2).fill(['failed', 'quota']),
    );
  });
});

describe('deliver-by on a paused channel', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('deliveries left waiting on a channel paused past their deliver-by time fall back then, or fail where no channel is left', async () => {
    const s = await seedSubscribers(t.db, 3);
    // WeChat first, then SMS; the last contact has WeChat only.
    await t.db.execute(sql`
      update contacts set wechat_openid = 'oWx' || id, phone = '+120255501' || lpad((10 + id % 90)::text, 2, '0'),
        channels = case when id = (select max(id) from contacts) then '{wechat}'::text[] else '{wechat,sms}'::text[] end`);
    const { policy } = await seedPolicy(t.db, s);
    const calls: OutboundMessage[] = [];
    // WeChat answers 45009 as its adapter reads it: quota spent, the channel paused until Beijing midnight.
    const quotaSpent: ChannelAdapter = {
      channel: 'wechat',
      provider: 'test',
      send: async () => ({
        outcome: 'retryable',
        code: '45009',
        message: 'reach max api daily quota limit',
        pauseChannel: true,
        retryAfterMs: 12 * 3_600_000,
      }),
    };
    const d = await startDispatcher({
      config: parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20', DISPATCH_BATCH_SIZE: '1', DELIVER_BY_MINUTES: '1' }),
      db: t,
      logger,
      signingSecret: secret,
      withJobs: false,
      adapters: {
        ...adapters(async (m) => ({ outcome: 'accepted', providerMessageId: `sms-${m.deliveryId}` }), calls),
        wechat: countingAdapter(quotaSpent, calls),
      },
    });
    // The delivery that met the quota is past its deliver-by at once (the pause ends at midnight) and falls back to SMS.
    await vi.waitFor(async () => expect((await rows(t)).filter((r) => r.channel === 'sms' && r.status === 'sent')).toHaveLength(1));
    await d.stop();
    expect((await rows(t)).filter((r) => r.channel === 'wechat').map((r) => [r.status, r.error_code])).toEqual([
      ['failed', '45009'],
      ['pending', null],
      ['pending', null],
    ]);
    // Within its deliver-by time, the sweep leaves the rest waiting for the channel.
    const [{ publish_at }] = rowsOf<{ publish_at: string }>(
      await t.db.execute(sql`select publish_at::text from policies where id = ${policy.id}`),
    );
    const settings = parseConfig({ DELIVER_BY_MINUTES: '1' }).dispatcher;
    const job = { db: t.db, logger, settings, providers: { wechat: 'test', sms: 'test', email: 'test' } };
    await deliverBy.run(job, new Date(Date.parse(publish_at) + 30_000));
    expect((await rows(t)).filter((r) => r.status === 'pending')).toHaveLength(2);
    // A notice waiting out the contact's quiet hours on that channel is left to the morning.
    await t.db.execute(sql`
      insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, error_code, next_attempt_at)
      select policy_id, policy_version, enterprise_id, contact_id, channel, 'update', 'pending', 'quiet_hours',
        ${new Date(Date.parse(publish_at) + 10 * 3_600_000).toISOString()}::timestamptz
      from deliveries where policy_id = ${policy.id} and channel = 'wechat' order by id limit 1`);
    // Past it (the channel still paused), they fall back to SMS; the WeChat-only contact's ends failed, with the reason.
    await deliverBy.run(job, new Date(Date.parse(publish_at) + 90_000));
    const after = await rows(t);
    expect(after.filter((r) => r.channel === 'wechat').map((r) => [r.status, r.error_code])).toEqual([
      ['failed', '45009'],
      ['failed', 'deliver_by_passed'],
      ['failed', 'deliver_by_passed'],
      ['pending', 'quiet_hours'],
    ]);
    const smsFallbacks = after.filter((r) => r.channel === 'sms');
    expect(smsFallbacks.map((r) => r.status)).toEqual(['sent', 'pending']);
    expect(smsFallbacks.every((r) => r.fallback_of !== null)).toBe(true);
  });
});

describe('quiet hours', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  const start = (now: number, calls: OutboundMessage[]) =>
    startDispatcher({
      config: parseConfig({ DISPATCH_POLL_MS: '20' }), // the default quiet hours, 22:00-08:00 Asia/Shanghai
      db: t,
      logger,
      signingSecret: secret,
      withJobs: false,
      now: () => now,
      adapters: adapters(async (m) => ({ outcome: 'accepted', providerMessageId: `sms-${m.deliveryId}` }), calls),
    });

  it('a policy published at 23:00 reaches SMS contacts at 08:00, and an urgent one at once', async () => {
    const s = await smsThenEmail(t, 2);
    await seedPolicy(t.db, s);
    const calls: OutboundMessage[] = [];
    const night = await start(Date.parse('2026-11-27T23:00:00+08:00'), calls);
    await vi.waitFor(async () => expect((await rows(t)).map((r) => r.error_code)).toEqual(['quiet_hours', 'quiet_hours']));
    const urgent = await seedPolicy(t.db, s, 'urgent');
    await vi.waitFor(async () => expect(calls.filter((m) => m.channel === 'sms')).toHaveLength(2));
    await night.stop();
    // Held for nine hours, without spending an attempt; the urgent policy ignored quiet hours.
    const held = rowsOf<{ wait_hours: number; attempts: number }>(
      await t.db.execute(sql`
        select round(extract(epoch from next_attempt_at - updated_at) / 3600)::int as wait_hours, attempts
        from deliveries where policy_id <> ${urgent.policy.id}`),
    );
    expect(held).toEqual([
      { wait_hours: 9, attempts: 0 },
      { wait_hours: 9, attempts: 0 },
    ]);

    // 08:00: the window opens (the wait is moved rather than waited for).
    await t.db.execute(sql`update deliveries set next_attempt_at = now() where status = 'pending'`);
    const morning = await start(Date.parse('2026-11-28T08:00:00+08:00'), calls);
    await vi.waitFor(async () => expect((await rows(t)).filter((r) => r.status === 'sent')).toHaveLength(4));
    await morning.stop();
    expect(calls.filter((m) => m.channel === 'sms')).toHaveLength(4);
  });
});

describe('per-recipient limits', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('caps the pushes an address gets in a day; the rest wait for its daily digest', async () => {
    const s = await seedSubscribers(t.db, 1);
    for (let i = 0; i < 3; i++) await seedPolicy(t.db, s);
    const calls: OutboundMessage[] = [];
    const d = await startDispatcher({
      config: parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20', RECIPIENT_DAILY_CAP: '2' }),
      db: t,
      logger,
      signingSecret: secret,
      withJobs: false,
      adapters: adapters(async () => ({ outcome: 'accepted', providerMessageId: 'x' }), calls),
    });
    await vi.waitFor(async () => expect((await rows(t)).map((r) => r.status).sort()).toEqual(['held', 'sent', 'sent']));
    await d.stop();
    expect(calls).toHaveLength(2);
    const [held] = rowsOf<{ digest_period: string; error_code: string; attempts: number }>(
      await t.db.execute(sql`select digest_period, error_code, attempts from deliveries where status = 'held'`),
    );
    expect(held).toEqual({ digest_period: 'daily', error_code: 'recipient_cap', attempts: 0 });
  });

  it('sends bulk email only to confirmed addresses when the deployment asks for it', async () => {
    const s = await seedSubscribers(t.db, 3);
    await t.db.execute(sql`update contacts set email_confirmed_at = now() where id = (select min(id) from contacts)`);
    await seedPolicy(t.db, s);
    while (await fanOutNextChunk(t.db, 100, { requireConfirmedEmail: true })) {}
    expect(await rows(t)).toHaveLength(1);
  });
});

describe('one address, one message', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('one phone shared by five enterprises receives one SMS; the others are linked to it', async () => {
    const s = await seedSubscribers(t.db, 5);
    // One accountant's phone serves all five enterprises.
    await t.db.execute(sql`update contacts set phone = '+12025550188', channels = '{sms}'`);
    await seedPolicy(t.db, s);
    const calls: OutboundMessage[] = [];
    const d = await startDispatcher({
      config: parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20' }),
      db: t,
      logger,
      signingSecret: secret,
      withJobs: false,
      adapters: adapters(async (m) => ({ outcome: 'accepted', providerMessageId: `sms-${m.deliveryId}` }), calls),
    });
    await vi.waitFor(async () => expect((await rows(t)).filter((r) => r.status === 'sent')).toHaveLength(1));
    await d.stop();
    expect(calls).toHaveLength(1);
    const all = rowsOf<{ id: string; status: string; duplicate_of: string | null }>(
      await t.db.execute(sql`select id::text as id, status, duplicate_of::text as duplicate_of from deliveries order by id`),
    );
    const sent = all.find((r) => r.status === 'sent')!;
    expect(all.filter((r) => r.status === 'merged').map((r) => r.duplicate_of)).toEqual(Array(4).fill(sent.id));
  });

  it('merges across fan-out chunks: an address met again chunks later joins the first delivery', async () => {
    const s = await seedSubscribers(t.db, 6);
    // The 1st, 3rd and 6th enterprises share a mailbox (written with different case); each enterprise is its own chunk.
    const ids = rowsOf<{ id: string }>(await t.db.execute(sql`select id::text as id from enterprises order by id`)).map((r) => r.id);
    await t.db.execute(sql`update contacts set email = 'office@example.com' where enterprise_id in (${ids[0]}, ${ids[5]})`);
    await t.db.execute(sql`update contacts set email = 'Office@Example.com' where enterprise_id = ${ids[2]}`);
    await seedPolicy(t.db, s);
    while ((await fanOutNextChunk(t.db, 1))?.done === false);
    const all = rowsOf<{ enterprise_id: string; id: string; status: string; duplicate_of: string | null }>(
      await t.db.execute(
        sql`select enterprise_id::text as enterprise_id, id::text as id, status, duplicate_of::text as duplicate_of from deliveries order by enterprise_id`,
      ),
    );
    const first = all[0];
    expect(first.status).toBe('pending');
    expect(all.filter((r) => r.status === 'merged').map((r) => [r.enterprise_id, r.duplicate_of])).toEqual([
      [ids[2], first.id],
      [ids[5], first.id],
    ]);
    expect(all.filter((r) => r.status === 'pending')).toHaveLength(4);
  });
});
