import { createTestDb, seedPolicy, seedSubscribers, type TestDb, testDatabaseUrl, withAdmin, withDatabase } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ackDeliveries,
  claimDeliveries,
  claimJobRun,
  expectedMigrationCount,
  fanOutNextChunk,
  migrate,
  recordReceipt,
  rowsOf,
  type SendOutcome,
} from '../src';

const accepted = (id: number, attempt: number, pmid: string): SendOutcome => ({
  id,
  attempt,
  status: 'sent',
  providerMessageId: pmid,
  errorCode: null,
  retryInMs: 0,
  attemptRecord: { outcome: 'accepted', providerCode: null, error: null, latencyMs: 3, response: { sid: pmid } },
});

describe('outbox', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
    const s = await seedSubscribers(t.db, 8);
    await seedPolicy(t.db, s);
    while (await fanOutNextChunk(t.db, 100)) {}
  });
  afterAll(() => t.drop());

  const statusOf = async (id: number) =>
    rowsOf<{ status: string }>(await t.db.execute(sql`select status from deliveries where id = ${id}`))[0].status;

  it('applies receipts forward only, in any order, and ignores repeats', async () => {
    const [d] = await claimDeliveries(t.db, { limit: 1, leaseSeconds: 60 });
    await ackDeliveries(t.db, [accepted(d.id, d.attempts, 'pm-1')], 'w');
    expect(await statusOf(d.id)).toBe('sent');
    const delivered = { channel: 'email', providerMessageId: 'pm-1', status: 'delivered' as const, occurredAt: new Date() };
    expect(await recordReceipt(t.db, delivered)).toEqual({ stored: true, deliveryId: d.id });
    expect(await recordReceipt(t.db, delivered)).toEqual({ stored: false, deliveryId: null });
    // A late "sent" or "undelivered" cannot move a delivered message back or sideways.
    await recordReceipt(t.db, { ...delivered, status: 'sent' });
    await recordReceipt(t.db, { ...delivered, status: 'undelivered', errorCode: '30005' });
    expect(await statusOf(d.id)).toBe('delivered');
  });

  it('keeps a receipt that arrives before the ack and applies it at the ack', async () => {
    const [d] = await claimDeliveries(t.db, { limit: 1, leaseSeconds: 60 });
    await recordReceipt(t.db, {
      channel: 'email',
      providerMessageId: 'pm-early',
      status: 'undelivered',
      errorCode: '550',
      occurredAt: new Date(),
    });
    expect(await statusOf(d.id)).toBe('sending');
    await ackDeliveries(t.db, [accepted(d.id, d.attempts, 'pm-early')], 'w');
    expect(await statusOf(d.id)).toBe('undelivered');
    const [event] = rowsOf<{ delivery_id: string }>(
      await t.db.execute(sql`select delivery_id from delivery_events where provider_message_id = 'pm-early'`),
    );
    expect(Number(event.delivery_id)).toBe(d.id);
  });

  it('dates the attempt and sent_at when the provider answered, not when the batch was acked', async () => {
    const [d] = await claimDeliveries(t.db, { limit: 1, leaseSeconds: 60 });
    // Answered 4 s before the ack (a batch waiting for its slowest send).
    await ackDeliveries(t.db, [{ ...accepted(d.id, d.attempts, 'pm-dated'), answeredAt: performance.now() - 4_000 }], 'w');
    const [row] = rowsOf<{ sent_ago: number; attempt_ago: number }>(
      await t.db.execute(sql`
        select extract(epoch from now() - d.sent_at)::float8 as sent_ago, extract(epoch from now() - a.created_at)::float8 as attempt_ago
        from deliveries d join delivery_attempts a on a.delivery_id = d.id where d.id = ${d.id}`),
    );
    for (const ago of [row.sent_ago, row.attempt_ago]) {
      expect(ago).toBeGreaterThanOrEqual(3.9);
      expect(ago).toBeLessThan(10);
    }
  });

  it('acks only rows still sending: a terminal state never moves back', async () => {
    const [d] = await claimDeliveries(t.db, { limit: 1, leaseSeconds: 60 });
    await ackDeliveries(t.db, [{ ...accepted(d.id, d.attempts, 'pm-2'), status: 'failed', errorCode: 'X' }], 'w');
    expect(await ackDeliveries(t.db, [accepted(d.id, d.attempts, 'pm-2')], 'w')).toEqual([]);
    expect(await statusOf(d.id)).toBe('failed');
  });

  // A delivery that can fall back: its contact also has a phone, and SMS is its next channel.
  const withSmsFallback = async (id: number, phone: string) => {
    await t.db.execute(sql`
      update contacts set phone = ${phone}, channels = '{email,sms}' where id = (select contact_id from deliveries where id = ${id})`);
    await t.db.execute(sql`update deliveries set fallback_channels = '{sms}' where id = ${id}`);
  };
  const fallbackOf = async (id: number) =>
    rowsOf<{ channel: string; status: string }>(await t.db.execute(sql`select channel, status from deliveries where fallback_of = ${id}`));

  it('hands an early "undelivered" receipt applied at the ack over to the fallback channel', async () => {
    const [d] = await claimDeliveries(t.db, { limit: 1, leaseSeconds: 60 });
    await withSmsFallback(d.id, '+8613800000101');
    await recordReceipt(t.db, {
      channel: 'email',
      providerMessageId: 'pm-early-2',
      status: 'undelivered',
      errorCode: '550',
      occurredAt: new Date(),
    });
    await ackDeliveries(t.db, [accepted(d.id, d.attempts, 'pm-early-2')], 'w');
    expect(await statusOf(d.id)).toBe('undelivered');
    expect(await fallbackOf(d.id)).toEqual([{ channel: 'sms', status: 'pending' }]);
  });

  it('commits a failed ack only with its fallback: a failure between the two leaves the delivery sending', async () => {
    const [d] = await claimDeliveries(t.db, { limit: 1, leaseSeconds: 60 });
    await withSmsFallback(d.id, '+8613800000102');
    // The process "dies" while the fallback is being written: its insert fails.
    await t.db.execute(
      sql.raw(`create function refuse_fallbacks() returns trigger language plpgsql as $$
        begin if new.fallback_of is not null then raise exception 'crash while writing the fallback'; end if; return new; end $$`),
    );
    await t.db.execute(
      sql.raw('create trigger refuse_fallbacks before insert on deliveries for each row execute function refuse_fallbacks()'),
    );
    const failed: SendOutcome = { ...accepted(d.id, d.attempts, 'pm-3'), status: 'failed', errorCode: '30005' };
    try {
      await expect(ackDeliveries(t.db, [failed], 'w')).rejects.toThrow();
      expect(await statusOf(d.id)).toBe('sending');
      expect(await fallbackOf(d.id)).toEqual([]);
    } finally {
      await t.db.execute(sql.raw('drop trigger refuse_fallbacks on deliveries'));
      await t.db.execute(sql.raw('drop function refuse_fallbacks()'));
    }
    // The lease sweep or the retry acks it again: now failed, with its fallback.
    expect(await ackDeliveries(t.db, [failed], 'w')).toEqual([d.id]);
    expect(await statusOf(d.id)).toBe('failed');
    expect(await fallbackOf(d.id)).toEqual([{ channel: 'sms', status: 'pending' }]);
  });

  it('runs a periodic job once per firing across replicas', async () => {
    const results = await Promise.all([1, 2, 3].map(() => claimJobRun(t.db, 'lease-sweep', '2026-01-01T00:00:00.000Z')));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await claimJobRun(t.db, 'lease-sweep', '2026-01-01T00:00:15.000Z')).toBe(true);
  });
});

describe.skipIf(!testDatabaseUrl())('migrations on Postgres', () => {
  it('several processes migrating at once apply each migration once', async () => {
    const url = testDatabaseUrl()!;
    const name = `policy_push_test_migrate_${process.pid}`;
    await withAdmin(url, (s) => s.unsafe(`drop database if exists ${name} with (force)`));
    await withAdmin(url, (s) => s.unsafe(`create database ${name}`));
    const config = { url: withDatabase(url, name) };
    await Promise.all([migrate(config), migrate(config), migrate(config)]);
    const n = await withAdmin(config.url, (s) => s`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect(n[0].n).toBe(expectedMigrationCount());
    await withAdmin(url, (s) => s.unsafe(`drop database ${name} with (force)`));
  });
});
