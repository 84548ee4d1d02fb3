// Retention and erasure (README "Retention and erasure"): archiving moves exactly the settled
// deliveries of long-finished policies, in batches, and the reach answer does not move; erasure
// leaves no trace of a contact's addresses anywhere in the database, and the reach answer does not
// move either.
import { addressKey, rowsOf, runArchive, sql } from '@policy-push/db';
import { seedReachFixture, type ReachFixture } from '@policy-push/testkit';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiKey } from '../src/services/api-keys';
import { buildTestApp, call, policyBody, seedWorld, startSandboxDispatcher, type TestApp } from './helpers';

const DAY = 86_400_000;
const reachOf = (h: TestApp, policyId: number) => call(h, 'GET', `/v1/policies/${policyId}/reach`, undefined, 200);
const count = async (h: TestApp, query: ReturnType<typeof sql>) => rowsOf<{ n: number }>(await h.t.db.execute(query))[0].n;

/** A fixture policy, settled (nothing pending or held) and ended `daysAgo` days ago as `status`. */
async function finishedPolicy(h: TestApp, status: 'revoked' | 'expired' | 'published', daysAgo: number, settle = true) {
  const f = await seedReachFixture(h.t.db);
  const at = new Date(Date.now() - daysAgo * DAY).toISOString();
  if (settle) {
    await h.t.db.execute(sql`
      update deliveries set status = 'cancelled', error_code = 'policy_withdrawn', finished_at = now()
      where policy_id = ${f.policyId} and status in ('pending', 'held')`);
  }
  await h.t.db.execute(sql`
    update policies set status = ${status}, publish_at = ${at}::timestamptz - interval '30 days',
      revoked_at = case when ${status} = 'revoked' then ${at}::timestamptz end,
      valid_until = case when ${status} = 'expired' then ${at}::timestamptz end
    where id = ${f.policyId}`);
  // A provider answer and a receipt for each delivery that went out, as the dispatcher writes them.
  await h.t.db.execute(sql`
    insert into delivery_attempts (delivery_id, attempt, outcome, provider, latency_ms, worker, response)
    select id, 1, 'accepted', 'sandbox', 12, 'test', jsonb_build_object('to', '+8613800138000', 'sid', 'SM' || id)
    from deliveries where policy_id = ${f.policyId} and status not in ('merged', 'cancelled', 'held', 'suppressed')`);
  await h.t.db.execute(sql`
    insert into delivery_events (delivery_id, channel, type, payload)
    select id, channel, status, jsonb_build_object('To', '+8613800138000') from deliveries
    where policy_id = ${f.policyId} and status in ('delivered', 'undelivered')`);
  return f;
}

describe('archiving', () => {
  let h: TestApp;
  let old: ReachFixture; // revoked 200 days ago, settled: archived
  let unsettled: ReachFixture; // revoked 200 days ago, one delivery still pending: kept
  let recent: ReachFixture; // revoked 10 days ago: kept
  let expired: ReachFixture; // expired 400 days ago: archived
  let published: ReachFixture; // published 400 days ago and never ended: kept
  let before: Record<number, unknown>;
  let firstRun: Awaited<ReturnType<typeof runArchive>>;
  const settings = { days: 180, archiveDays: 0, batchSize: 4 };

  beforeAll(async () => {
    h = await buildTestApp();
    old = await finishedPolicy(h, 'revoked', 200);
    unsettled = await finishedPolicy(h, 'revoked', 200, false);
    recent = await finishedPolicy(h, 'revoked', 10);
    expired = await finishedPolicy(h, 'expired', 400);
    published = await finishedPolicy(h, 'published', 400);
    before = {};
    for (const f of [old, unsettled, recent, expired, published]) before[f.policyId] = await reachOf(h, f.policyId);
    firstRun = await runArchive(h.t.db, settings);
  });
  afterAll(() => h.close());

  const inOutbox = (f: ReachFixture) => count(h, sql`select count(*)::int as n from deliveries where policy_id = ${f.policyId}`);
  const inArchive = (f: ReachFixture) => count(h, sql`select count(*)::int as n from deliveries_archive where policy_id = ${f.policyId}`);

  it('moves exactly the deliveries of policies that ended before RETENTION_DAYS and are settled, in batches', async () => {
    // Each fixture has 11 deliveries, 4 attempts-worthy and 4 receipts (see finishedPolicy), and 2 opened.
    expect(firstRun).toMatchObject({ policies: 2, deliveries: 22, attempts: 14, events: 2 * 4 + 2 * 2, opens: 4, more: false });
    expect(firstRun.batches).toBeGreaterThanOrEqual(6); // 11 deliveries in batches of 4, twice
    for (const f of [old, expired]) {
      expect(await inOutbox(f)).toBe(0);
      expect(await inArchive(f)).toBe(11);
      expect(await count(h, sql`select count(*)::int as n from delivery_opens where delivery_id = ${f.deliveries.e7email}`)).toBe(0);
    }
    for (const f of [unsettled, recent, published]) {
      expect(await inOutbox(f)).toBe(11);
      expect(await inArchive(f)).toBe(0);
    }
    // Nothing left behind for archived deliveries.
    expect(
      await count(
        h,
        sql`select count(*)::int as n from delivery_attempts a where not exists (select 1 from deliveries d where d.id = a.delivery_id)`,
      ),
    ).toBe(0);
    // A second run finds nothing more to do.
    expect(await runArchive(h.t.db, settings)).toMatchObject({ deliveries: 0, policies: 0, more: false });
  });

  it('leaves every reach answer exactly as it was, even when an archived pair is recounted', async () => {
    for (const f of [old, unsettled, recent, expired, published]) expect(await reachOf(h, f.policyId)).toEqual(before[f.policyId]);
    // Queue every archived pair again: the recount reads the archive, so the funnel is unchanged.
    await h.t.db.execute(sql`
      insert into reach_dirty (policy_id, enterprise_id, delivery_id)
      select policy_id, enterprise_id, id from deliveries_archive where kind = 'policy'`);
    for (const f of [old, expired]) expect(await reachOf(h, f.policyId)).toEqual(before[f.policyId]);
    expect((before[old.policyId] as { totals: { engaged: number } }).totals.engaged).toBe(3);
  });

  it('still answers the delivery log for an archived delivery, saying when it was archived', async () => {
    const archived = await call(h, 'GET', `/v1/deliveries/${old.deliveries.e1sms}`, undefined, 200);
    expect(archived).toMatchObject({ id: String(old.deliveries.e1sms), status: 'delivered', archivedAt: expect.any(String) });
    expect(archived.engagement.opens).toBe(1);
    expect(archived.timeline.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['matched', 'attempt', 'receipt', 'opened']),
    );
    const fallback = await call(h, 'GET', `/v1/deliveries/${old.deliveries.e2sms}`, undefined, 200);
    expect(fallback.timeline[0]).toMatchObject({ type: 'fallback_of', deliveryId: String(old.deliveries.e2wechat) });
    const live = await call(h, 'GET', `/v1/deliveries/${recent.deliveries.e1sms}`, undefined, 200);
    expect(live.archivedAt).toBeNull();
  });

  it('purges the archive after ARCHIVE_RETENTION_DAYS, and the counters stay', async () => {
    const notYet = await runArchive(h.t.db, { ...settings, archiveDays: 30 });
    expect(notYet.purged).toBe(0);
    const later = await runArchive(h.t.db, { ...settings, archiveDays: 30 }, { now: new Date(Date.now() + 31 * DAY) });
    expect(later.purged).toBe(22);
    expect(await count(h, sql`select count(*)::int as n from delivery_attempts_archive`)).toBe(0);
    expect(await count(h, sql`select count(*)::int as n from delivery_opens_archive`)).toBe(0);
    for (const f of [old, expired]) expect(await reachOf(h, f.policyId)).toEqual(before[f.policyId]);
    const gone = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${old.deliveries.e1sms}`, headers: h.auth });
    expect(gone.statusCode).toBe(404);
  });
});

describe('erasure', () => {
  let h: TestApp;
  let sandbox: Awaited<ReturnType<typeof startSandboxDispatcher>> | undefined;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(async () => {
    await sandbox?.stop();
    await h.close();
  });

  /** Every text, jsonb and text[] value of every table whose text contains one of `needles`. */
  async function traces(needles: string[]): Promise<string[]> {
    const columns = rowsOf<{ table_name: string; column_name: string }>(
      await h.t.db.execute(sql`
        select c.table_name, c.column_name from information_schema.columns c
        join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
        where c.table_schema = 'public' and (c.data_type in ('text', 'jsonb', 'json', 'character varying') or c.udt_name = '_text')`),
    );
    expect(columns.length).toBeGreaterThan(40);
    const found: string[] = [];
    for (const { table_name, column_name } of columns) {
      const rows = rowsOf<{ v: string }>(
        await h.t.db.execute(sql.raw(`select "${column_name}"::text as v from "${table_name}" where "${column_name}" is not null`)),
      );
      for (const { v } of rows) {
        for (const needle of needles)
          if (v.toLowerCase().includes(needle.toLowerCase())) found.push(`${table_name}.${column_name}: ${needle}`);
      }
    }
    return found;
  }

  const md5 = (s: string) => createHash('md5').update(s).digest('hex');

  it('removes every trace of the contact from the whole database, and the reach answer stays', async () => {
    const phone = '+8613912345678';
    const email = 'erase.me@example.com';
    const openid = 'o-erase-me-7f3a9c';
    const name = '欧阳擦除';
    const world = await seedWorld(h, [
      { phone: '13912345678', email, wechatOpenid: openid, channels: ['sms', 'email', 'wechat'] },
      { phone: '13800001111', email: 'keep.me@example.com' },
    ]);
    const target = world.enterprises[0].contact;
    sandbox = await startSandboxDispatcher(h);
    await call(h, 'PATCH', `/v1/contacts/${target.id}`, { name }, 200);
    // Urgent: every channel at once, so every address gets a message, an attempt and a sandbox record.
    const { policy } = await call(
      h,
      'POST',
      '/v1/policies',
      policyBody(world.department.id, world.category.id, { priority: 'urgent' }),
      202,
    );
    await vi.waitFor(
      async () =>
        expect(await call(h, 'GET', `/v1/policies/${policy.id}/push`, undefined, 200)).toMatchObject({
          done: true,
          pending: 0,
          sending: 0,
        }),
      { timeout: 15_000, interval: 50 },
    );
    // The sandbox's receipts come a moment after the sends.
    await vi.waitFor(
      async () =>
        expect(
          await count(
            h,
            sql`select count(*)::int as n from deliveries where contact_id = ${Number(target.id)} and channel <> 'email' and status <> 'delivered'`,
          ),
        ).toBe(0),
      { timeout: 15_000, interval: 50 },
    );
    // What providers write down: a receipt echoing the number, and one that came for no known message.
    const [sms] = rowsOf<{ id: number; provider_message_id: string }>(
      await h.t.db.execute(sql`select id, provider_message_id from deliveries where contact_id = ${Number(target.id)} and channel = 'sms'`),
    );
    await h.t.db.execute(sql`
      insert into delivery_events (delivery_id, channel, provider_message_id, type, payload)
      values (${sms.id}, 'sms', 'SM-echo', 'delivered', ${JSON.stringify({ To: phone, From: '+10000000000' })}::jsonb),
             (null, 'email', 'unknown-1', 'undelivered', ${JSON.stringify({ recipient: email, reason: 'mailbox full' })}::jsonb)`);
    await h.t.db.execute(sql`
      insert into delivery_attempts (delivery_id, attempt, outcome, provider, latency_ms, worker, error)
      values (${sms.id}, 2, 'permanent', 'twilio', 5, 'test', ${`The 'To' number 13912345678 is not reachable`})`);
    await h.t.db.execute(
      sql`insert into address_daily_sends (address_key, day, sent) values (${addressKey('sms', phone)}, current_date, 1)`,
    );

    const needles = [phone, '13912345678', email, openid, name, md5(phone), md5(email), md5(openid), addressKey('sms', phone).slice(4)];
    expect((await traces(needles)).length).toBeGreaterThan(5); // the check can fail: the traces are there now
    const before = await reachOf(h, Number(policy.id));
    const deliveriesBefore = await count(h, sql`select count(*)::int as n from deliveries`);

    expect(await call(h, 'POST', `/v1/contacts/${target.id}/erase`, undefined, 200)).toEqual({ erasedContacts: 1, cancelledDeliveries: 0 });

    expect(await traces(needles)).toEqual([]);
    expect(await reachOf(h, Number(policy.id))).toEqual(before);
    expect(await count(h, sql`select count(*)::int as n from deliveries`)).toBe(deliveriesBefore);
    // The other contact is untouched.
    expect((await traces(['+8613800001111', 'keep.me@example.com'])).length).toBeGreaterThan(0);
    const erased = await call(h, 'GET', `/v1/contacts/${target.id}`, undefined, 200);
    expect(erased).toMatchObject({ name: null, phone: null, email: null, wechatOpenid: null, suppressed: true });
    const [entry] = rowsOf<{ action: string; subject_id: string }>(
      await h.t.db.execute(sql`select action, subject_id from audit_log where action = 'contact.erase'`),
    );
    expect(entry).toEqual({ action: 'contact.erase', subject_id: target.id });

    // Never matched again, and never given an address again.
    const res = await h.app.inject({
      method: 'PATCH',
      url: `/v1/contacts/${target.id}`,
      headers: h.auth,
      payload: { phone: '13912345678' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('contact_erased');
    const { policy: second } = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    await vi.waitFor(
      async () =>
        expect(await call(h, 'GET', `/v1/policies/${second.id}/push`, undefined, 200)).toMatchObject({
          done: true,
          pending: 0,
          sending: 0,
        }),
      { timeout: 15_000, interval: 50 },
    );
    expect(
      await count(
        h,
        sql`select count(*)::int as n from deliveries where policy_id = ${Number(second.id)} and contact_id = ${Number(target.id)}`,
      ),
    ).toBe(0);
    // The fixtures below keep pending deliveries: nothing may send them.
    await sandbox.stop();
    sandbox = undefined;
  });

  it("erases an enterprise's contacts, archived deliveries included; unsent ones are cancelled", async () => {
    const f = await seedReachFixture(h.t.db);
    const fixtureReach = async () => (await reachOf(h, f.policyId)).totals;
    await h.t.db.execute(sql`
      insert into delivery_attempts (delivery_id, attempt, outcome, provider, latency_ms, worker, response)
      values (${f.deliveries.e1sms}, 1, 'accepted', 'sandbox', 3, 'test', '{"to": "+8613800138000"}'::jsonb)`);
    // e1's deliveries archived (as the job would once the policy is long over): the archive is erased too.
    await h.t.db.execute(sql`
      with moved as (delete from deliveries where id = ${f.deliveries.e1sms} returning *)
      insert into deliveries_archive
      select r.* from moved m, jsonb_populate_record(null::deliveries_archive, to_jsonb(m) || jsonb_build_object('archived_at', now())) r`);
    await h.t.db.execute(sql`
      with moved as (delete from delivery_attempts where delivery_id = ${f.deliveries.e1sms} returning *)
      insert into delivery_attempts_archive select r.* from moved m, jsonb_populate_record(null::delivery_attempts_archive, to_jsonb(m)) r`);
    const before = await fixtureReach();

    const answer = await call(h, 'DELETE', `/v1/enterprises/${f.enterprises.e1}/personal-data`, undefined, 200);
    expect(answer).toEqual({ erasedContacts: 2, cancelledDeliveries: 0 });
    expect(await traces(['e1@example.com', 'e1b@example.com', 'openid-fixture-e1'])).toEqual([]);
    const [archived] = rowsOf<{ response: unknown }>(
      await h.t.db.execute(sql`select response from delivery_attempts_archive where delivery_id = ${f.deliveries.e1sms}`),
    );
    expect(archived.response).toBeNull();
    expect(await fixtureReach()).toEqual(before);

    const [e3] = rowsOf<{ status: string }>(await h.t.db.execute(sql`select status from deliveries where id = ${f.deliveries.e3email}`));
    expect(e3.status).toBe('pending');
    // e3's email is still pending: erasing e3 cancels it, the one change the funnel then shows.
    expect(await call(h, 'DELETE', `/v1/enterprises/${f.enterprises.e3}/personal-data`, undefined, 200)).toEqual({
      erasedContacts: 1,
      cancelledDeliveries: 1,
    });
    expect(await fixtureReach()).toEqual({ ...before, withDelivery: before.withDelivery - 1 });
  });

  it('refuses while a message to the contact is being sent, changing nothing; only admin keys may erase', async () => {
    const f = await seedReachFixture(h.t.db);
    await h.t.db.execute(
      sql`update deliveries set status = 'sending', locked_until = now() + interval '1 minute' where id = ${f.deliveries.e3email}`,
    );
    const [contact] = rowsOf<{ contact_id: number }>(
      await h.t.db.execute(sql`select contact_id from deliveries where id = ${f.deliveries.e3email}`),
    );
    const busy = await h.app.inject({ method: 'POST', url: `/v1/contacts/${contact.contact_id}/erase`, headers: h.auth });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().error.code).toBe('delivery_in_flight');
    expect((await traces(['e3@example.com'])).length).toBeGreaterThan(0);

    const { key } = await createApiKey(h.t.db, { name: 'ops', role: 'ops' });
    const ops = await h.app.inject({
      method: 'POST',
      url: `/v1/contacts/${contact.contact_id}/erase`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(ops.statusCode).toBe(403);
    const missing = await h.app.inject({ method: 'POST', url: '/v1/contacts/999999999/erase', headers: h.auth });
    expect(missing.statusCode).toBe(404);
    const noEnterprise = await h.app.inject({ method: 'DELETE', url: '/v1/enterprises/999999999/personal-data', headers: h.auth });
    expect(noEnterprise.statusCode).toBe(404);
  });
});
