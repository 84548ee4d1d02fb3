// Reach counters: hand-computed numbers on a known fixture, and equality with a direct count of the
// deliveries after every kind of change (acks, receipts, digests, opens, revocations).
import { createTestDb, seedReachFixture, type TestDb, testDatabaseUrl } from '@policy-push/testkit';
import postgres from 'postgres';
import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ackDeliveries,
  cancelUnsent,
  claimDeliveries,
  foldDigests,
  getReachTimeline,
  policyReach,
  type ReachBreakdown,
  type ReachCounts,
  fanOutNextChunk,
  reachReport,
  recordOpen,
  recordReceipt,
  refreshReach,
  rowsOf,
} from '../src';

type Unaddressable = ReachCounts['unaddressable'];
const NONE: Unaddressable = { noContact: 0, noAddress: 0, optedOut: 0, emailUnconfirmed: 0 };
/** Counts where every targeted enterprise was addressable (unless `unaddressable` says otherwise). */
const c = (
  targeted: number,
  withDelivery: number,
  sent: number,
  delivered: number,
  reached: number,
  engaged: number,
  unaddressable: Unaddressable = NONE,
): ReachCounts => ({
  targeted,
  addressable: targeted - Object.values(unaddressable).reduce((a, b) => a + b, 0),
  withDelivery,
  sent,
  delivered,
  reached,
  engaged,
  unaddressable,
  lateMatched: 0,
});

/**
 * The funnel counted straight from the deliveries and the fan-out's unaddressable records, written
 * apart from the counters' SQL: what the counters must always equal once refreshed.
 */
async function directReach(t: TestDb, scope: SQL): Promise<Counted> {
  const base = sql`
    with d as (
      select d.policy_id, d.enterprise_id, d.channel, d.status, d.error_code, e.district, e.industry_section, e.size,
        coalesce(m.status, d.status) as cs, coalesce(m.sent_at, d.sent_at) as csa, coalesce(m.id, d.id) as cid
      from deliveries d
      join enterprises e on e.id = d.enterprise_id
      left join deliveries m on m.id = case d.status when 'merged' then d.duplicate_of when 'digested' then d.digest_id end
      where d.policy_id in (${scope}) and d.kind = 'policy'
    ), f as (
      select *, cs not in ('cancelled', 'suppressed') as w, (csa is not null or cs in ('sent', 'delivered', 'undelivered')) as s,
        cs = 'delivered' as dl, exists (select 1 from delivery_opens o where o.delivery_id = cid and o.engaged_at is not null) as en,
        null::text as reason
      from d
      union all
      -- Matched but unaddressable: only those without any policy delivery (of any version).
      select u.policy_id, u.enterprise_id, null, null, null, e.district, e.industry_section, e.size, null, null, null,
        false, false, false, false, u.reason
      from reach_unaddressable u join enterprises e on e.id = u.enterprise_id
      where u.policy_id in (${scope})
        and not exists (select 1 from deliveries x where x.policy_id = u.policy_id and x.enterprise_id = u.enterprise_id and x.kind = 'policy')
    )`;
  const stages = sql`
    count(distinct (policy_id, enterprise_id))::int as targeted,
    (count(distinct (policy_id, enterprise_id)) filter (where reason is null))::int as addressable,
    (count(distinct (policy_id, enterprise_id)) filter (where reason = 'no_contact'))::int as "noContact",
    (count(distinct (policy_id, enterprise_id)) filter (where reason = 'no_address'))::int as "noAddress",
    (count(distinct (policy_id, enterprise_id)) filter (where reason = 'opted_out'))::int as "optedOut",
    (count(distinct (policy_id, enterprise_id)) filter (where reason = 'email_unconfirmed'))::int as "emailUnconfirmed",
    (count(distinct (policy_id, enterprise_id)) filter (where w))::int as "withDelivery",
    (count(distinct (policy_id, enterprise_id)) filter (where s))::int as sent,
    (count(distinct (policy_id, enterprise_id)) filter (where dl))::int as delivered,
    (count(distinct (policy_id, enterprise_id)) filter (where dl or (cs = 'sent' and channel = 'email')))::int as reached,
    (count(distinct (policy_id, enterprise_id)) filter (where en))::int as engaged,
    (count(distinct (policy_id, enterprise_id)) filter (
      where exists (select 1 from late_matches l where l.policy_id = f.policy_id and l.enterprise_id = f.enterprise_id)))::int as "lateMatched"`;
  const nest = ({ noContact, noAddress, optedOut, emailUnconfirmed, ...rest }: Record<string, unknown>) => ({
    ...rest,
    unaddressable: { noContact, noAddress, optedOut, emailUnconfirmed },
  });
  const by = async (column: string, as: string) =>
    rowsOf<Record<string, unknown>>(
      await t.db.execute(
        sql`${base} select ${sql.raw(column)} as "${sql.raw(as)}", ${stages} from f where ${sql.raw(column)} is not null group by 1 order by 1`,
      ),
    ).map(nest);
  const [totals] = rowsOf<Record<string, unknown>>(await t.db.execute(sql`${base} select ${stages} from f`)).map(nest);
  const failures = rowsOf<{ channel: string; errorCode: string; deliveries: number }>(
    await t.db.execute(sql`${base}
      select channel, coalesce(error_code, 'unknown') as "errorCode", count(*)::int as deliveries from f
      where status in ('failed', 'undelivered') group by 1, 2 order by 3 desc, 1, 2`),
  );
  return {
    totals: totals as ReachCounts,
    byChannel: (await by('channel', 'channel')) as ReachBreakdown['byChannel'],
    byDistrict: (await by('district', 'district')) as ReachBreakdown['byDistrict'],
    bySection: (await by('industry_section', 'section')) as ReachBreakdown['bySection'],
    bySize: (await by('size', 'size')) as ReachBreakdown['bySize'],
    failures,
  };
}

type Counted = Omit<ReachBreakdown, 'addressableKnown' | 'followUps'>;
/** The breakdown with its lists in one order, without addressableKnown (not a count) and follow-ups (tested apart). */
const sorted = ({
  addressableKnown: _,
  followUps: __,
  ...b
}: Counted & { addressableKnown?: boolean; followUps?: ReachBreakdown['followUps'] }) => ({
  ...b,
  byChannel: [...b.byChannel].sort((x, y) => x.channel.localeCompare(y.channel)),
  byDistrict: [...b.byDistrict].sort((x, y) => x.district.localeCompare(y.district)),
  bySection: [...b.bySection].sort((x, y) => x.section.localeCompare(y.section)),
  bySize: [...b.bySize].sort((x, y) => x.size.localeCompare(y.size)),
});

describe('reach counters', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  const expectCountersEqualDirect = async (policyId: number) => {
    await refreshReach(t.db);
    const reach = await policyReach(t.db, policyId);
    expect(sorted(reach)).toEqual(sorted(await directReach(t, sql`select ${policyId}::bigint`)));
    // The timeline is kept by the same bookkeeping: its running totals end at the counters.
    for (const bucket of ['hour', 'day'] as const) {
      const last = (await getReachTimeline(t.db, policyId, { bucket })).at(-1);
      expect({ reached: last?.cumulativeReached ?? 0, engaged: last?.cumulativeEngaged ?? 0 }, bucket).toEqual({
        reached: reach.totals.reached,
        engaged: reach.totals.engaged,
      });
    }
  };

  it('count the fixture as computed by hand', async () => {
    const f = await seedReachFixture(t.db);
    expect(await refreshReach(t.db)).toMatchObject({ more: false });
    const reach = await policyReach(t.db, f.policyId);
    // e1…e8 are targeted (e9 only got an update notice); e4's only delivery was suppressed; e1 (sms,
    // email), e2 (undelivered sms), e5 (merged into e1's sms), e7 (email), e8 (wechat) were sent;
    // e1, e5 and e8 were delivered; e7's and e1's emails count as reached besides; e1's sms (and so
    // e5 with it) and e7 were opened.
    expect(reach.totals).toEqual(c(8, 7, 5, 3, 4, 3));
    expect(sorted(reach).byChannel).toEqual([
      { channel: 'email', ...c(4, 4, 2, 0, 2, 1) },
      { channel: 'sms', ...c(4, 3, 3, 2, 2, 2) },
      { channel: 'wechat', ...c(2, 2, 1, 1, 1, 0) },
    ]);
    expect(sorted(reach).byDistrict).toEqual([
      { district: '440104', ...c(2, 1, 0, 0, 0, 0) },
      { district: '440106', ...c(3, 3, 3, 1, 2, 2) },
      { district: '440111', ...c(2, 2, 1, 1, 1, 1) },
      { district: '440112', ...c(1, 1, 1, 1, 1, 0) },
    ]);
    expect(sorted(reach).bySection).toEqual([
      { section: 'C', ...c(5, 5, 4, 2, 3, 3) },
      { section: 'F', ...c(1, 1, 1, 1, 1, 0) },
      { section: 'G', ...c(2, 1, 0, 0, 0, 0) },
    ]);
    expect(sorted(reach).bySize).toEqual([
      { size: 'large', ...c(1, 1, 1, 1, 1, 0) },
      { size: 'medium', ...c(1, 1, 1, 0, 0, 0) },
      { size: 'micro', ...c(1, 0, 0, 0, 0, 0) },
      { size: 'small', ...c(5, 5, 3, 2, 3, 3) },
    ]);
    expect(reach.failures).toEqual([
      { channel: 'sms', errorCode: '30005', deliveries: 1 },
      { channel: 'wechat', errorCode: '43004', deliveries: 1 },
    ]);
    expect(sorted(reach)).toEqual(sorted(await directReach(t, sql`select ${f.policyId}::bigint`)));
  });

  it('stay equal to a direct count as deliveries move: acks, receipts, digests, opens, a revocation', async () => {
    const f = await seedReachFixture(t.db);
    await refreshReach(t.db);

    // e3's pending email is claimed and accepted: sent, and (email) reached.
    const claimed = await claimDeliveries(t.db, { limit: 100, leaseSeconds: 60 });
    expect(claimed.map((d) => d.id)).toContain(f.deliveries.e3email);
    await ackDeliveries(
      t.db,
      claimed.map((d) => ({
        id: d.id,
        attempt: d.attempts,
        status: 'sent' as const,
        providerMessageId: `pm-${d.id}`,
        errorCode: null,
        retryInMs: 0,
        attemptRecord: { outcome: 'accepted', provider: 'sandbox', providerCode: null, error: null, latencyMs: 5, response: {} },
      })),
      'test-worker',
    );
    await expectCountersEqualDirect(f.policyId);
    expect((await policyReach(t.db, f.policyId)).totals).toEqual(c(8, 7, 6, 3, 5, 3));

    // e6's held email is folded into a digest, which is then sent: e6 is sent and reached through it.
    await foldDigests(t.db, 'daily', `daily:test-${f.policyId}`);
    await expectCountersEqualDirect(f.policyId);
    await t.db.execute(sql`
      update deliveries set status = 'sent', sent_at = now(), provider_message_id = ${'digest-' + f.policyId}
      where kind = 'digest' and digest_period = ${`daily:test-${f.policyId}`}`);
    await expectCountersEqualDirect(f.policyId);
    expect((await policyReach(t.db, f.policyId)).totals).toEqual(c(8, 7, 7, 3, 6, 3));

    // A receipt: e7's email bounces later (undelivered, 550): still sent, no longer counted as reached.
    await t.db.execute(sql`update deliveries set provider_message_id = 'pm-e7' where id = ${f.deliveries.e7email}`);
    await recordReceipt(t.db, {
      channel: 'email',
      providerMessageId: 'pm-e7',
      status: 'undelivered',
      errorCode: '550',
      occurredAt: new Date(),
    });
    await expectCountersEqualDirect(f.policyId);
    const afterBounce = await policyReach(t.db, f.policyId);
    expect(afterBounce.totals).toEqual(c(8, 7, 7, 3, 5, 3));
    expect(afterBounce.failures).toContainEqual({ channel: 'email', errorCode: '550', deliveries: 1 });

    // e8 opens its WeChat message: engaged.
    await t.db.transaction((tx) => recordOpen(tx, { deliveryId: f.deliveries.e8wechat, channel: 'wechat', at: new Date() }));
    await expectCountersEqualDirect(f.policyId);
    expect((await policyReach(t.db, f.policyId)).totals.engaged).toBe(4);

    // Revoking cancels what is unsent: e3's email, put back to pending for the purpose.
    await t.db.execute(sql`update deliveries set status = 'pending', sent_at = null where id = ${f.deliveries.e3email}`);
    await t.db.transaction((tx) => cancelUnsent(tx, f.policyId));
    await expectCountersEqualDirect(f.policyId);
    expect((await policyReach(t.db, f.policyId)).totals).toEqual(c(8, 6, 6, 3, 4, 4));
  });

  it('queue no work for a claim, and queue the merged deliveries with the one they were merged into', async () => {
    const f = await seedReachFixture(t.db);
    await refreshReach(t.db);
    const queued = async () => rowsOf<{ n: number }>(await t.db.execute(sql`select count(*)::int as n from reach_dirty`))[0].n;
    await t.db.execute(sql`update deliveries set status = 'pending', sent_at = null where id = ${f.deliveries.e3email}`);
    await refreshReach(t.db);
    // pending → sending (a claim) and back (a swept lease) are invisible to the funnel.
    await t.db.execute(sql`update deliveries set status = 'sending' where id = ${f.deliveries.e3email}`);
    await t.db.execute(sql`update deliveries set status = 'pending' where id = ${f.deliveries.e3email}`);
    expect(await queued()).toBe(0);
    // e1's sms moving (here: back to sent, which only a test does) queues e1 and e5, merged into it.
    await t.db.execute(sql`update deliveries set status = 'sent' where id = ${f.deliveries.e1sms}`);
    const pairs = rowsOf<{ enterprise_id: string | number }>(
      await t.db.execute(sql`select distinct enterprise_id from reach_dirty order by 1`),
    ).map((r) => Number(r.enterprise_id));
    expect(pairs).toEqual([f.enterprises.e1, f.enterprises.e5].sort((a, b) => a - b));
    await expectCountersEqualDirect(f.policyId);
  });

  it('put each pair in the hour (and Guangzhou day) it was reached and engaged, and take a bounced one out', async () => {
    const f = await seedReachFixture(t.db);
    const T1 = '2026-03-01T15:30:00Z'; // 23:30 on 1 March in Guangzhou
    const T2 = '2026-03-01T16:10:00Z'; // 00:10 on 2 March
    const T3 = '2026-03-02T01:05:00Z';
    await t.db.execute(sql`
      update deliveries set sent_at = case when sent_at is not null then ${T1}::timestamptz end,
        finished_at = case when finished_at is not null then ${T1}::timestamptz end
      where policy_id = ${f.policyId}`);
    await t.db.execute(sql`update deliveries set sent_at = ${T2}::timestamptz where id = ${f.deliveries.e7email}`);
    await t.db.execute(sql`update deliveries set finished_at = ${T2}::timestamptz where id = ${f.deliveries.e8wechat}`);
    await t.db.execute(sql`
      update delivery_opens set engaged_at = ${T3}::timestamptz
      where delivery_id in (select id from deliveries where policy_id = ${f.policyId})`);
    await expectCountersEqualDirect(f.policyId);
    // Reached: e1 and e5 (merged into e1's sms) at T1, e7 and e8 at T2; engaged: e1, e5, e7 at T3.
    expect(await getReachTimeline(t.db, f.policyId, { bucket: 'hour' })).toEqual([
      { at: '2026-03-01T15:00:00.000Z', reached: 2, engaged: 0, cumulativeReached: 2, cumulativeEngaged: 0 },
      { at: '2026-03-01T16:00:00.000Z', reached: 2, engaged: 0, cumulativeReached: 4, cumulativeEngaged: 0 },
      { at: '2026-03-02T01:00:00.000Z', reached: 0, engaged: 3, cumulativeReached: 4, cumulativeEngaged: 3 },
    ]);
    expect(await getReachTimeline(t.db, f.policyId, { bucket: 'day' })).toEqual([
      { at: '2026-02-28T16:00:00.000Z', reached: 2, engaged: 0, cumulativeReached: 2, cumulativeEngaged: 0 },
      { at: '2026-03-01T16:00:00.000Z', reached: 2, engaged: 3, cumulativeReached: 4, cumulativeEngaged: 3 },
    ]);

    // e7's email bounces: it leaves its hour (still engaged: it was opened).
    await t.db.execute(sql`update deliveries set provider_message_id = ${'pm-tl-' + f.policyId} where id = ${f.deliveries.e7email}`);
    await recordReceipt(t.db, {
      channel: 'email',
      providerMessageId: 'pm-tl-' + f.policyId,
      status: 'undelivered',
      errorCode: '550',
      occurredAt: new Date(),
    });
    await expectCountersEqualDirect(f.policyId);
    expect(await getReachTimeline(t.db, f.policyId, { bucket: 'hour' })).toEqual([
      { at: '2026-03-01T15:00:00.000Z', reached: 2, engaged: 0, cumulativeReached: 2, cumulativeEngaged: 0 },
      { at: '2026-03-01T16:00:00.000Z', reached: 1, engaged: 0, cumulativeReached: 3, cumulativeEngaged: 0 },
      { at: '2026-03-02T01:00:00.000Z', reached: 0, engaged: 3, cumulativeReached: 3, cumulativeEngaged: 3 },
    ]);
  });

  it('count an opened update of the policy as engagement of a targeted enterprise, under all channels, and no machine open', async () => {
    const f = await seedReachFixture(t.db);
    await refreshReach(t.db);
    const totals = async () => {
      await refreshReach(t.db);
      const reach = await policyReach(t.db, f.policyId);
      const last = (await getReachTimeline(t.db, f.policyId, { bucket: 'hour' })).at(-1);
      expect(last?.cumulativeEngaged).toBe(reach.totals.engaged);
      return { engaged: reach.totals.engaged, byChannel: reach.byChannel.map((c) => [c.channel, c.engaged]) };
    };
    const start = await totals();
    expect(start.engaged).toBe(3);

    // e9 got only an update notice: opening it does not make e9 targeted, nor engaged.
    await t.db.transaction((tx) => recordOpen(tx, { deliveryId: f.deliveries.e9update, channel: 'sms', at: new Date() }));
    expect(await totals()).toEqual(start);

    // e8 (WeChat delivered, never opened) gets an update by SMS: a scanner's open does not count, a person's does.
    const [update] = rowsOf<{ id: string }>(
      await t.db.execute(sql`
        insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, sent_at)
        select policy_id, 2, enterprise_id, contact_id, 'sms', 'update', 'sent', now() from deliveries where id = ${f.deliveries.e8wechat}
        returning id`),
    );
    const open = (machine: 'scanner' | null) =>
      t.db.transaction((tx) => recordOpen(tx, { deliveryId: Number(update.id), channel: 'sms', at: new Date(), machine }));
    expect(await open('scanner')).toEqual({ first: true, engaged: false });
    expect(await totals()).toEqual(start);
    expect(await open(null)).toEqual({ first: false, engaged: true });
    expect(await totals()).toEqual({ engaged: 4, byChannel: start.byChannel });
  });

  it('count reminders sent, enterprises reminded, and those engaged after their first reminder', async () => {
    const f = await seedReachFixture(t.db);
    await refreshReach(t.db);
    expect((await policyReach(t.db, f.policyId)).followUps).toEqual({ remindersSent: 0, reminded: 0, engagedAfterReminder: 0 });
    // Reminders (part B's kind): two to e2 (an hour ago, by SMS and email), one to e8 an hour ago; one
    // to e3 made but not sent yet.
    const remind = async (who: string, channel: string, sent: boolean) =>
      rowsOf<{ id: string }>(
        await t.db.execute(sql`
          insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, sent_at)
          select policy_id, 1, enterprise_id, contact_id, ${channel}, 'reminder', ${sent ? 'sent' : 'pending'},
            ${sent ? sql`now() - interval '1 hour'` : null}
          from deliveries where id = ${f.deliveries[who]}
          returning id`),
      )[0].id;
    await remind('e2wechat', 'sms', true);
    await remind('e2wechat', 'email', true);
    const e8 = await remind('e8wechat', 'sms', true);
    const e3 = await remind('e3email', 'sms', false);
    await expectCountersEqualDirect(f.policyId);
    expect((await policyReach(t.db, f.policyId)).followUps).toEqual({ remindersSent: 3, reminded: 2, engagedAfterReminder: 0 });

    // e8 opens its reminder: engaged after it. e3's reminder goes out: reminded.
    await t.db.transaction((tx) => recordOpen(tx, { deliveryId: Number(e8), channel: 'sms', at: new Date() }));
    await t.db.execute(sql`update deliveries set status = 'sent', sent_at = now() where id = ${Number(e3)}`);
    // (The direct count knows only the policy's own messages: an opened reminder engages under 'all' alone.)
    await refreshReach(t.db);
    const reach = await policyReach(t.db, f.policyId);
    expect(reach.followUps).toEqual({ remindersSent: 4, reminded: 3, engagedAfterReminder: 1 });
    expect(reach.totals.engaged).toBe(4);
  });

  it("keep counting a deleted contact's deliveries", async () => {
    const f = await seedReachFixture(t.db);
    await refreshReach(t.db);
    await t.db.execute(sql`delete from contacts where id = (select contact_id from deliveries where id = ${f.deliveries.e3email})`);
    await t.db.execute(sql`update deliveries set status = 'delivered', sent_at = now() where id = ${f.deliveries.e3email}`);
    await expectCountersEqualDirect(f.policyId);
    expect((await policyReach(t.db, f.policyId)).totals).toEqual(c(8, 7, 6, 4, 5, 3));
  });

  it.skipIf(!testDatabaseUrl())('count a change that commits after a refresh began at the next refresh (Postgres)', async () => {
    const f = await seedReachFixture(t.db);
    await refreshReach(t.db);
    // Another connection changes e3's email to delivered and holds its transaction open while a
    // refresh runs: the refresh cannot see the change or its queue entry, and must not lose it.
    const other = postgres(t.config.url!, { max: 1, onnotice: () => {} });
    try {
      await other.begin(async (tx) => {
        await tx`update deliveries set status = 'delivered', sent_at = now() where id = ${f.deliveries.e3email}`;
        await refreshReach(t.db);
        expect((await policyReach(t.db, f.policyId)).totals.delivered).toBe(3);
      });
    } finally {
      await other.end();
    }
    await expectCountersEqualDirect(f.policyId);
    expect((await policyReach(t.db, f.policyId)).totals.delivered).toBe(4);
  });

  it('report over a department, a category and a time range equals a direct count of the policies it selects', async () => {
    const a = await seedReachFixture(t.db, { publishAt: new Date('2026-01-10T00:00:00Z') });
    const b = await seedReachFixture(t.db, { departmentId: a.departmentId, publishAt: new Date('2026-02-10T00:00:00Z') });
    const other = await seedReachFixture(t.db, { categoryId: a.categoryId, publishAt: new Date('2026-01-20T00:00:00Z') });
    // Move b a little so the policies differ.
    await t.db.execute(sql`update deliveries set status = 'delivered' where id = ${b.deliveries.e7email}`);
    await refreshReach(t.db);

    const department = await reachReport(t.db, { departmentId: a.departmentId });
    expect(department.policies).toBe(2);
    expect(sorted(department)).toMatchObject(
      sorted(await directReach(t, sql`select unnest(array[${a.policyId}, ${b.policyId}]::bigint[])`)),
    );
    expect(department.totals).toEqual(c(16, 14, 10, 7, 8, 6));
    expect(department.byDepartment).toEqual([{ departmentId: a.departmentId, ...department.totals }]);

    const january = await reachReport(t.db, {
      categoryId: a.categoryId,
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-02-01T00:00:00Z'),
    });
    expect(january.policies).toBe(2);
    expect(sorted(january)).toMatchObject(
      sorted(await directReach(t, sql`select unnest(array[${a.policyId}, ${other.policyId}]::bigint[])`)),
    );
    expect(january.byDepartment.map((d) => d.departmentId).sort()).toEqual([a.departmentId, other.departmentId].sort());
    expect(january.byCategory).toEqual([{ categoryId: a.categoryId, ...january.totals }]);

    const nothing = await reachReport(t.db, { from: new Date('2030-01-01T00:00:00Z') });
    expect(nothing).toMatchObject({ policies: 0, totals: c(0, 0, 0, 0, 0, 0), byChannel: [], failures: [] });
  });
  it('count every enterprise a WeChat-only policy matched as targeted, and the ones without an openid as not addressable, by why', async () => {
    const one = async (q: SQL) => Number(rowsOf<{ id: string | number }>(await t.db.execute(q))[0].id);
    const tag = `wx-${process.pid}-${Date.now().toString(36)}`;
    const departmentId = await one(
      sql`insert into departments (code, name_zh, name_en, sms_signature) values (${tag}, '局', 'Bureau', '签名') returning id`,
    );
    const categoryId = await one(sql`insert into categories (code, name_zh, name_en) values (${tag}, '类', 'Cat') returning id`);
    const enterprise = async (name: string, channels: string[], subscribed: boolean) => {
      const id = await one(
        sql`insert into enterprises (credit_code, name, industry_section, district, size)
          values (${tag + name}, ${name}, 'C', ${name === 'noContact' ? '440104' : '440106'}, 'small') returning id`,
      );
      if (subscribed)
        await t.db.execute(sql`insert into subscriptions (enterprise_id, category_ids, channels)
          values (${id}, array[${categoryId}::bigint], ${sql.param(channels)}::text[])`);
      return id;
    };
    const wechat = ['wechat'];
    const values = (id: SQL, phone: string | null, email: string | null, openid: string | null, optedOut: string[] = []) =>
      sql`values (${id}, ${phone}, ${email}, ${openid}, ${sql.param(optedOut)}::text[])`;
    // Three followers (two will be delivered), one without an openid (a phone only), one with no
    // contact, one who unfollowed (opted out), one accepting WeChat or email with an unconfirmed
    // email (confirmation required), and one not subscribed (not matched: not targeted).
    const ids: Record<string, number> = {};
    for (const name of ['a', 'b', 'c', 'noAddress', 'noContact', 'optedOut', 'unconfirmed', 'notSubscribed']) {
      ids[name] = await enterprise(name, name === 'unconfirmed' ? ['wechat', 'email'] : wechat, name !== 'notSubscribed');
      const e = sql`${ids[name]}::bigint`;
      const contact =
        name === 'noAddress'
          ? values(e, '+8613800000001', null, null)
          : name === 'optedOut'
            ? values(e, null, null, `${tag}-opt`, ['wechat'])
            : name === 'unconfirmed'
              ? values(e, null, `${tag}@example.com`, null)
              : name === 'noContact'
                ? null
                : values(e, null, null, `${tag}-${name}`);
      if (contact) await t.db.execute(sql`insert into contacts (enterprise_id, phone, email, wechat_openid, opted_out) ${contact}`);
    }
    const policyId = await one(
      sql`insert into policies (department_id, doc_number, title, summary, url, category_ids, status, version, publish_at)
        values (${departmentId}, ${tag}, '标题', '摘要', 'https://policy.example.gov.cn/wx', array[${categoryId}::bigint], 'published', 1, now())
        returning id`,
    );
    await t.db.execute(sql`insert into pushes (policy_id, policy_version, status) values (${policyId}, 1, 'fanning_out')`);
    // Small chunks, so the unaddressable are recorded across several chunk statements.
    while (await fanOutNextChunk(t.db, 3, { requireConfirmedEmail: true }));
    const delivered = rowsOf<{ id: string | number }>(
      await t.db.execute(sql`
        update deliveries set status = 'delivered', sent_at = now()
        where policy_id = ${policyId} and enterprise_id = any(${sql.param([ids.a, ids.b])}::bigint[]) returning id`),
    );
    expect(delivered).toHaveLength(2);

    await expectCountersEqualDirect(policyId);
    const reach = await policyReach(t.db, policyId);
    expect(reach.addressableKnown).toBe(true);
    // Before: targeted was 3 (only those with a delivery) and the reach rate 2 ÷ 3.
    expect(reach.totals).toEqual(c(7, 3, 2, 2, 2, 0, { noContact: 1, noAddress: 1, optedOut: 1, emailUnconfirmed: 1 }));
    expect(reach.totals.reached / reach.totals.targeted).toBeCloseTo(2 / 7);
    expect(reach.byChannel).toEqual([{ channel: 'wechat', ...c(3, 3, 2, 2, 2, 0) }]);
    expect(sorted(reach).byDistrict).toEqual([
      { district: '440104', ...c(1, 0, 0, 0, 0, 0, { ...NONE, noContact: 1 }) },
      { district: '440106', ...c(6, 3, 2, 2, 2, 0, { ...NONE, noAddress: 1, optedOut: 1, emailUnconfirmed: 1 }) },
    ]);

    // The no-openid enterprise binds WeChat and the policy is amended: v2 reaches it, and it moves
    // from unaddressable to addressable; the others stay as they were.
    await t.db.execute(sql`update contacts set wechat_openid = ${tag + '-bound'} where enterprise_id = ${ids.noAddress}`);
    await t.db.execute(sql`update policies set version = 2 where id = ${policyId}`);
    await t.db.execute(sql`insert into pushes (policy_id, policy_version, status) values (${policyId}, 2, 'fanning_out')`);
    while (await fanOutNextChunk(t.db, 3, { requireConfirmedEmail: true }));
    await expectCountersEqualDirect(policyId);
    expect((await policyReach(t.db, policyId)).totals).toEqual(
      c(7, 4, 2, 2, 2, 0, { noContact: 1, noAddress: 0, optedOut: 1, emailUnconfirmed: 1 }),
    );
  });

  it('label a policy pushed before unaddressable enterprises were recorded', async () => {
    const f = await seedReachFixture(t.db);
    await t.db.execute(
      sql`insert into pushes (policy_id, policy_version, status, records_unaddressable) values (${f.policyId}, 1, 'fanned_out', false)`,
    );
    await refreshReach(t.db);
    const reach = await policyReach(t.db, f.policyId);
    expect(reach.addressableKnown).toBe(false);
    expect(reach.totals.addressable).toBe(reach.totals.targeted);
    expect((await reachReport(t.db, { departmentId: f.departmentId })).addressableKnown).toBe(false);
  });
});
