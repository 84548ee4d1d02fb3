// The outbox's hot statements use index look-ups whatever the planner believed when their plans
// were cached (PERFORMANCE.md, "What is known to matter"): a dispatcher's connection is opened,
// and its plans made, while `deliveries` is nearly empty, and then lives on while history piles
// up. A plan that scans the table per claim or ack turns every push slower than the last.
// Postgres only: PGlite is one connection in one process, and has no per-table scan counters
// that another connection could read.
import { createTestDb, seedReachFixture, type TestDb, testDatabaseUrl } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ackDeliveries,
  catchUpNewcomers,
  claimDeliveries,
  createDb,
  type Db,
  fanOutNextChunk,
  recordReceipt,
  rowsOf,
  type SendOutcome,
} from '../src';

describe.skipIf(!testDatabaseUrl())('outbox plans made on an empty outbox (Postgres)', () => {
  let t: TestDb;
  let work: Db;
  let tag = 0;
  beforeAll(async () => {
    t = await createTestDb();
    // No autovacuum on this table for the test: its ANALYZE would invalidate the cached plans and
    // let a bad plan pass unseen (production cannot count on it running before the next push).
    await t.db.execute(sql`alter table deliveries set (autovacuum_enabled = false)`);
    work = await createDb({ url: t.config.url, poolSize: 1, applicationName: 'outbox-plans-test' });
  });
  afterAll(async () => {
    await work?.close();
    await t?.drop();
  });

  /** n pending policy deliveries of one policy, and one merged into the first (one address, one message). */
  async function addPending(n: number): Promise<number[]> {
    const batch = ++tag;
    const ids = rowsOf<{ id: string }>(
      await t.db.execute(sql`
        insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status)
        select 1000 + ${batch}::int, 1, g, g, 'sms', 'policy', 'pending' from generate_series(1, ${n}::int) g
        returning id`),
    ).map((r) => Number(r.id));
    await t.db.execute(sql`
      insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, duplicate_of)
      values (1000 + ${batch}::int, 1, 999999, 999999, 'sms', 'policy', 'merged', ${ids[0]})`);
    return ids;
  }

  /** One dispatcher round on the long-lived connection: claim, ack as sent, a delivery receipt. */
  async function round(): Promise<number> {
    const claimed = await claimDeliveries(work.db, { limit: 50, leaseSeconds: 60, channels: ['wechat', 'sms', 'email'] });
    const outcomes: SendOutcome[] = claimed.map((d) => ({
      id: d.id,
      attempt: d.attempts,
      status: 'sent',
      providerMessageId: `plan-${d.id}`,
      errorCode: null,
      retryInMs: 0,
      attemptRecord: { outcome: 'sent', provider: 'sandbox', providerCode: null, error: null, latencyMs: 1, response: null },
    }));
    await ackDeliveries(work.db, outcomes, 'plans-test');
    if (claimed.length)
      await recordReceipt(work.db, {
        channel: 'sms',
        providerMessageId: `plan-${claimed[0].id}`,
        status: 'delivered',
        occurredAt: new Date(),
      });
    return claimed.length;
  }

  /** The working connection's statistics, reported: it flushes them on going idle, and its next statement runs after that. */
  async function flushWorkStats(): Promise<void> {
    await work.db.execute(sql`select pg_stat_force_next_flush()`);
    await work.db.execute(sql`select 1`);
  }

  /** Entries read from the pending index so far, with the working connection's counts flushed. */
  async function pendingIndexReads(): Promise<number> {
    await flushWorkStats();
    const [row] = rowsOf<{ n: string }>(
      await t.db.execute(sql`select idx_tup_read as n from pg_stat_user_indexes where indexrelid = 'deliveries_pending_idx'::regclass`),
    );
    return Number(row.n);
  }

  /** Sequential scans of a table so far, and rows read from it, with the working connection's pending counts flushed. */
  async function reads(table = 'deliveries'): Promise<{ scans: number; rows: number }> {
    await flushWorkStats();
    const [row] = rowsOf<{ scans: string; rows: string }>(
      await t.db.execute(sql`
        select seq_scan as scans, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) as rows
        from pg_stat_user_tables where relid = ${table}::regclass`),
    );
    return { scans: Number(row.scans), rows: Number(row.rows) };
  }

  it('claim, ack and receipts scan no deliveries once the outbox has grown', async () => {
    // Plans made on an (almost) empty outbox: more than five rounds, so that the prepared
    // statements switch to their generic plans as well.
    for (let i = 0; i < 6; i++) {
      await addPending(3);
      expect(await round()).toBe(3);
    }
    // History: 50,000 finished deliveries of a published policy, some merged, as earlier pushes
    // leave them. No ANALYZE.
    const { policyId } = await seedReachFixture(t.db);
    await t.db.execute(sql`update deliveries set status = 'cancelled' where policy_id = ${policyId} and status = 'pending'`);
    await t.db.execute(sql`
      insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, provider_message_id,
        sent_at, finished_at, duplicate_of)
      select ${policyId}::bigint, 1, g, 1000000 + g, 'sms', 'policy', case when g % 50 = 0 then 'merged' else 'delivered' end,
        case when g % 50 = 0 then null else 'history-' || g end, now(), now(), case when g % 50 = 0 then g - 1 end
      from generate_series(1, 50000) g`);
    await addPending(40);

    const before = await reads();
    expect(await round()).toBe(40);
    expect(await round()).toBe(0);
    const after = await reads();
    expect(after.scans).toBe(before.scans);
    // Index look-ups by key too: a few rows read per row claimed and acked, not a walk of the
    // policy's history (a join the planner led with the published policies did that).
    expect(after.rows - before.rows).toBeLessThan(2_000);
  });
  it("catch-up looks up a newcomer's deliveries of a policy by key, not the policy's whole history", async () => {
    // A published policy with 20,000 deliveries (no ANALYZE) and 20 newcomers subscribing to its
    // category. "Had a delivery of the policy already?" was once planned as an anti join against
    // every delivery of the policy: 2.5–4.5 s a batch in the bench.
    const { policyId, categoryId } = await seedReachFixture(t.db);
    await t.db.execute(sql`
      insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, sent_at, finished_at)
      select ${policyId}::bigint, 1, g, 2000000 + g, 'sms', 'policy', 'delivered', now(), now() from generate_series(1, 20000) g`);
    for (let i = 0; i < 20; i++) {
      await t.db.execute(sql`
        with e as (
          insert into enterprises (credit_code, name, industry_section, district, size)
          values (${`PLAN-${process.pid}-${i}`}, ${'新企业' + i}, 'C', '440106', 'small') returning id
        ),
        c as (insert into contacts (enterprise_id, phone) select id, ${'+8613900' + String(i).padStart(6, '0')} from e)
        insert into subscriptions (enterprise_id, category_ids, channels, frequency) select id, array[${categoryId}::bigint], array['sms'], 'immediate' from e`);
    }
    const before = await reads();
    const caught = await catchUpNewcomers(work.db);
    const after = await reads();
    expect(caught.enterprises).toBe(20);
    expect(caught.lateMatches).toBe(20);
    expect(after.scans).toBe(before.scans);
    expect(after.rows - before.rows).toBeLessThan(2_000);
  });
  it("a fan-out chunk reads its own enterprises' subscriptions and contacts, not the city's", async () => {
    // 3,000 subscribed enterprises with a contact each, fanned out 100 at a time: joined, each
    // chunk hashed every subscription of the city and read the contacts index from its start.
    const { policyId, categoryId } = await seedReachFixture(t.db);
    await t.db.execute(sql`
      with e as (
        insert into enterprises (credit_code, name, industry_section, district, size)
        select 'CITY-' || ${process.pid}::text || '-' || g, '城市企业' || g, 'C', '440106', 'small' from generate_series(1, 3000) g
        returning id
      ),
      c as (insert into contacts (enterprise_id, phone) select id, '+86137' || lpad(id::text, 8, '0') from e)
      insert into subscriptions (enterprise_id, category_ids, channels, frequency)
      select id, array[${categoryId}::bigint], array['sms'], 'immediate' from e`);
    await t.db.execute(sql`insert into pushes (policy_id, policy_version, status) values (${policyId}, 1, 'fanning_out')`);
    const before = { contacts: await reads('contacts'), subscriptions: await reads('subscriptions') };
    let made = 0;
    for (let i = 0; i < 5; i++) made += (await fanOutNextChunk(work.db, 100))?.inserted ?? 0;
    const after = { contacts: await reads('contacts'), subscriptions: await reads('subscriptions') };
    expect(made).toBeGreaterThan(0);
    // Five chunks of 100 enterprises: a few rows each, where the whole city is 3,000 per chunk.
    expect(after.contacts.rows - before.contacts.rows).toBeLessThan(2_000);
    expect(after.subscriptions.rows - before.subscriptions.rows).toBeLessThan(2_000);
  });
  it('a claim walks the pending index in order and stops at its batch, whatever the planner believes', async () => {
    // Statistics say what the outbox held when it was last analysed; a push's backlog is never
    // that. In the bench, believing a few hundred rows pending, the planner read every pending
    // row by bitmap and sorted them all for each batch it claimed (96,546 index entries for a
    // batch of 200). Here the planner is misled outright: index scans off for the session, before
    // the claim's plan is made again (the ANALYZE invalidates it).
    await work.db.execute(sql`update deliveries set status = 'cancelled' where status = 'pending'`);
    await work.db.execute(sql`set enable_indexscan = off`);
    await t.db.execute(sql`analyze deliveries`);
    await addPending(20_000);
    const before = await pendingIndexReads();
    expect(await claimDeliveries(work.db, { limit: 200, leaseSeconds: 60, channels: ['wechat', 'sms', 'email'] })).toHaveLength(200);
    const after = await pendingIndexReads();
    // The plans made while misled go too, so that the next test starts from honest ones.
    await work.db.execute(sql`reset enable_indexscan`);
    await work.db.execute(sql`discard plans`);
    expect(after - before).toBeLessThan(2_000);
  });
  it("a claim never reads a paused channel's backlog", async () => {
    // The day's WeChat quota spent mid-push: its deliveries wait at the head of the queue until
    // tomorrow, and every claim for the other channels once read past them, row by row.
    // Written on the working connection, whose statistics are flushed before the count: another
    // connection's reads of the pending index could arrive a second later, inside the count.
    await work.db.execute(sql`update deliveries set status = 'cancelled' where status = 'pending'`);
    await work.db.execute(sql`
      insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, next_attempt_at)
      select 3000, 1, g, g, case when g <= 20000 then 'wechat' else 'sms' end, 'policy', 'pending', now() - interval '1 hour' + g * interval '1 ms'
      from generate_series(1, 20500) g`);
    await t.db.execute(sql`
      insert into channel_pauses (channel, paused_until, reason) values ('wechat', now() + interval '1 hour', 'quota_spent')
      on conflict (channel) do update set paused_until = excluded.paused_until`);
    const before = await pendingIndexReads();
    const claimed = await claimDeliveries(work.db, { limit: 200, leaseSeconds: 60 });
    const after = await pendingIndexReads();
    await t.db.execute(sql`delete from channel_pauses`);
    expect(claimed.map((d) => d.channel)).toEqual(Array(200).fill('sms'));
    expect(after - before).toBeLessThan(2_000);
  });
});
