import type { Channel, ChannelAdapter, OutboundMessage } from '@policy-push/channels';
import { createLogger, parseConfig } from '@policy-push/core';
import { claimDeliveries, createDb, fanOutNextChunk, rowsOf, sweepExpiredLeases } from '@policy-push/db';
import { acceptingAdapter, countingAdapter, createTestDb, seedPolicy, seedSubscribers, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDispatcher } from '../src/dispatcher';

const logger = createLogger({ level: 'silent' });
const config = parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20', DISPATCH_BATCH_SIZE: '50', FANOUT_CHUNK_SIZE: '100' });

function adaptersCounting(
  calls: OutboundMessage[],
  make: (c: Channel) => ChannelAdapter = acceptingAdapter,
): Record<Channel, ChannelAdapter> {
  return {
    wechat: countingAdapter(make('wechat'), calls),
    sms: countingAdapter(make('sms'), calls),
    email: countingAdapter(make('email'), calls),
  };
}

async function statusCounts(t: TestDb): Promise<Record<string, number>> {
  const rows = rowsOf<{ status: string; n: number }>(
    await t.db.execute(sql`select status, count(*)::int as n from deliveries group by status`),
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function fanOutAll(t: TestDb) {
  while (await fanOutNextChunk(t.db, 100)) {}
}

describe('dispatcher', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('claims urgent work before pending bulk work', async () => {
    const s = await seedSubscribers(t.db, 30);
    await seedPolicy(t.db, s, 'normal');
    await fanOutAll(t);
    const urgent = await seedPolicy(t.db, s, 'urgent');
    await fanOutAll(t);
    const claimed = await claimDeliveries(t.db, { limit: 30, leaseSeconds: 60 });
    expect(claimed.every((d) => d.policyId === urgent.policy.id)).toBe(true);
    expect(claimed).toHaveLength(30);
  });

  it("puts back the sends a spent allowance would hold, so the batch's other channels go out at once", async () => {
    const s = await seedSubscribers(t.db, 20);
    // Half the contacts take SMS, the other half keep email: one batch holds both.
    await t.db.execute(sql`
      update contacts set channels = '{sms}', phone = '+8613800' || lpad(id::text, 6, '0'), email = null
      where id in (select id from contacts order by id limit 10)`);
    await seedPolicy(t.db, s);
    await fanOutAll(t);

    // Twilio configured (its allowance applies) with 4 segments a second: ten SMS take seconds.
    const throttled = parseConfig({
      QUIET_HOURS: '00:00-00:00',
      DISPATCH_POLL_MS: '20',
      DISPATCH_BATCH_SIZE: '50',
      TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32),
      TWILIO_AUTH_TOKEN: 'test-token',
      TWILIO_FROM: '+15005550006',
      SMS_SEGMENTS_PER_SECOND: '4',
    });
    const calls: OutboundMessage[] = [];
    const dispatcher = await startDispatcher({
      config: throttled,
      db: t,
      logger,
      adapters: adaptersCounting(calls),
      withJobs: false,
      signingSecret: 'test-signing-secret-0123456789abcdef',
    });
    try {
      const sentBy = async (channel: string) =>
        rowsOf<{ n: number }>(
          await t.db.execute(sql`select count(*)::int as n from deliveries where channel = ${channel} and status = 'sent'`),
        )[0].n;
      await vi.waitFor(async () => expect(await sentBy('email')).toBe(10), { timeout: 10_000, interval: 20 });
      // Within the first batch: the SMS beyond the allowance were put back, not waited for.
      expect(await sentBy('sms')).toBeLessThan(10);
      await vi.waitFor(async () => expect(await sentBy('sms')).toBe(10), { timeout: 30_000, interval: 100 });
      // Put back uncounted: each SMS was sent once, in one attempt.
      const sms = rowsOf<{ attempts: number; n: number }>(
        await t.db.execute(sql`select attempts, count(*)::int as n from deliveries where channel = 'sms' group by attempts`),
      );
      expect(sms).toEqual([{ attempts: 1, n: 10 }]);
      expect(calls.filter((m) => m.channel === 'sms')).toHaveLength(10);
    } finally {
      await dispatcher.stop();
    }
  });

  it('resends deliveries whose dispatcher died between claim and ack, with the delivery id as idempotency key', async () => {
    const s = await seedSubscribers(t.db, 40);
    await seedPolicy(t.db, s);
    await fanOutAll(t);
    // A dispatcher claims a batch, then dies before acking: nothing but the lease remembers it.
    const orphaned = await claimDeliveries(t.db, { limit: 25, leaseSeconds: 60 });
    expect(orphaned).toHaveLength(25);

    const calls: OutboundMessage[] = [];
    const survivor = await startDispatcher({
      config,
      db: t,
      logger,
      adapters: adaptersCounting(calls),
      withJobs: false,
      signingSecret: 'test-signing-secret-0123456789abcdef',
    });
    await vi.waitFor(async () => expect(await statusCounts(t)).toEqual({ sending: 25, sent: 15 }));

    // The lease runs out (moved into the past rather than waited for); the sweep gives the work back.
    await t.db.execute(sql`update deliveries set locked_until = now() - interval '1 second' where status = 'sending'`);
    expect(await sweepExpiredLeases(t.db)).toBe(25);
    survivor.wake();
    await vi.waitFor(async () => expect(await statusCounts(t)).toEqual({ sent: 40 }));
    await survivor.stop();

    const resent = calls.filter((m) => orphaned.some((d) => String(d.id) === m.deliveryId));
    expect(resent).toHaveLength(25);
    const attempts = rowsOf<{ attempts: number }>(await t.db.execute(sql`select attempts from deliveries where id = ${orphaned[0].id}`));
    expect(attempts[0].attempts).toBe(2);
  });

  it('stops claiming on stop, finishes the sends it holds, and leaves nothing sending', async () => {
    const s = await seedSubscribers(t.db, 120);
    await seedPolicy(t.db, s);
    await fanOutAll(t);
    const calls: OutboundMessage[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = (channel: Channel): ChannelAdapter => ({
      channel,
      provider: 'slow',
      send: async (m) => {
        await gate;
        return { outcome: 'accepted', providerMessageId: `slow-${m.deliveryId}` };
      },
    });
    const d = await startDispatcher({
      config,
      db: t,
      logger,
      adapters: adaptersCounting(calls, slow),
      withJobs: false,
      signingSecret: 'test-signing-secret-0123456789abcdef',
    });
    await vi.waitFor(() => expect(calls.length).toBeGreaterThan(0));
    const stopped = d.stop();
    release();
    await stopped;
    const counts = await statusCounts(t);
    expect(counts.sending ?? 0).toBe(0);
    expect(counts.sent).toBe(calls.length);
    expect(counts.pending).toBe(120 - calls.length);
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('two dispatchers on one Postgres send every delivery exactly once', async () => {
    const s = await seedSubscribers(t.db, 2000);
    await seedPolicy(t.db, s);
    const calls: OutboundMessage[] = [];
    // Each dispatcher has its own connection pool, as two processes would.
    const dbA = await createDb(t.config);
    const dbB = await createDb(t.config);
    const a = await startDispatcher({
      config,
      db: dbA,
      logger,
      adapters: adaptersCounting(calls),
      withJobs: false,
      signingSecret: 'test-signing-secret-0123456789abcdef',
    });
    const b = await startDispatcher({
      config,
      db: dbB,
      logger,
      adapters: adaptersCounting(calls),
      withJobs: false,
      signingSecret: 'test-signing-secret-0123456789abcdef',
    });
    await vi.waitFor(async () => expect((await statusCounts(t)).sent).toBe(2000), { timeout: 30_000, interval: 100 });
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all([dbA.close(), dbB.close()]);

    const perDelivery = new Map<string, number>();
    for (const m of calls) perDelivery.set(m.deliveryId, (perDelivery.get(m.deliveryId) ?? 0) + 1);
    expect(calls).toHaveLength(2000);
    expect(perDelivery.size).toBe(2000);
    const workers = rowsOf<{ n: number }>(await t.db.execute(sql`select count(distinct worker)::int as n from delivery_attempts`));
    expect(workers[0].n).toBe(2);
  });
});
