// Catch-up for newcomers (issue 15): an enterprise that subscribes, or whose profile comes to match,
// after a policy went out gets the policies still in force once — one message when actionBy is
// ahead, the inbox otherwise — and counts as targeted, late. Each test has its own department and
// category, so other tests' policies never match its enterprises.
import { createTestDb, type TestDb } from '@policy-push/testkit';
import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  catchUpNewcomers,
  enterpriseInbox,
  fanOutNextChunk,
  loadDigestItems,
  markPolicyRead,
  policyReach,
  refreshReach,
  rowsOf,
} from '../src';

const DAY = 86_400_000;
let run = 0;

describe('catch-up for newcomers', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  const one = async (q: SQL): Promise<number> => Number(rowsOf<{ id: string | number }>(await t.db.execute(q))[0].id);
  const count = async (q: SQL): Promise<number> => Number(rowsOf<{ n: number }>(await t.db.execute(q))[0].n);

  /** A department and category of its own, and helpers to make policies and enterprises in them. */
  async function scene() {
    const n = `${process.pid}-${++run}`;
    const departmentId = await one(
      sql`insert into departments (code, name_zh, name_en, sms_signature) values (${'cu-' + n}, '测试局', 'Test Bureau', '广州测试') returning id`,
    );
    const categoryId = await one(sql`insert into categories (code, name_zh, name_en) values (${'cu-' + n}, '测试类', 'Test') returning id`);
    const now = new Date();
    const policy = async (
      title: string,
      o: { actionBy?: Date; validUntil?: Date; revoked?: boolean; districts?: string[]; publishedAgo?: number } = {},
    ) =>
      one(sql`
        insert into policies (department_id, doc_number, title, summary, url, category_ids, status, version, publish_at,
          action_by, valid_until, revoked_at, audience_rule)
        values (${departmentId}, ${'CU-' + n + '-' + title}, ${title}, '摘要', ${'https://policy.example.gov.cn/' + title},
          array[${categoryId}::bigint], ${o.revoked ? 'revoked' : 'published'}, 1,
          ${new Date(now.getTime() - (o.publishedAgo ?? 5) * DAY).toISOString()}::timestamptz,
          ${o.actionBy?.toISOString() ?? null}::timestamptz, ${o.validUntil?.toISOString() ?? null}::timestamptz,
          ${o.revoked ? sql`now()` : null},
          ${o.districts ? JSON.stringify({ districts: { any: o.districts } }) : null}::jsonb)
        returning id`);
    const enterprise = async (name: string, district = '440106') => {
      const id = await one(sql`
        insert into enterprises (credit_code, name, industry_section, district, size)
        values (${`CU${n}-${name}`}, ${'企业' + name}, 'C', ${district}, 'small') returning id`);
      const contactId = await one(sql`
        insert into contacts (enterprise_id, phone, email) values (${id}, ${'+86138' + String(id).padStart(8, '0')}, ${`${name}-${n}@example.com`})
        returning id`);
      return { id, contactId };
    };
    const subscribe = (enterpriseId: number) =>
      t.db.execute(sql`
        insert into subscriptions (enterprise_id, category_ids, channels, frequency)
        values (${enterpriseId}, array[${categoryId}::bigint], array['sms'], 'weekly')`);
    return { now, policy, enterprise, subscribe };
  }

  const digests = async (enterpriseId: number) =>
    rowsOf<{ id: string | number; channel: string; status: string }>(
      await t.db.execute(
        sql`select id, channel, status from deliveries where enterprise_id = ${enterpriseId} and kind = 'digest' order by id`,
      ),
    );
  const lateMatches = (enterpriseId: number) =>
    count(sql`select count(*)::int as n from late_matches where enterprise_id = ${enterpriseId}`);
  const reach = async (policyId: number) => {
    await refreshReach(t.db);
    return (await policyReach(t.db, policyId)).totals;
  };

  it('sends a newcomer one catch-up message listing the policies whose actionBy is ahead, and counts it as targeted, late', async () => {
    const s = await scene();
    const grant = await s.policy('grant', { actionBy: new Date(s.now.getTime() + 10 * DAY) });
    const survey = await s.policy('survey', { actionBy: new Date(s.now.getTime() + 3 * DAY) });
    const e = await s.enterprise('newcomer');
    await s.subscribe(e.id);

    const done = await catchUpNewcomers(t.db, { now: s.now });
    expect(done).toMatchObject({ lateMatches: 2, notified: 2, more: false });

    // One message for the contact on its channel, both policies folded into it; it waits to be sent
    // like any message (quiet hours, cap and consent apply when it is claimed).
    const made = await digests(e.id);
    expect(made).toEqual([expect.objectContaining({ channel: 'sms', status: 'pending' })]);
    const items = await loadDigestItems(t.db, [Number(made[0].id)]);
    expect(items.get(Number(made[0].id))!.map((i) => i.policyId)).toEqual([grant, survey]);
    expect(
      await count(sql`select count(*)::int as n from deliveries where enterprise_id = ${e.id} and kind = 'policy' and status = 'digested'`),
    ).toBe(2);

    expect(await reach(grant)).toMatchObject({ targeted: 1, addressable: 1, lateMatched: 1 });
    expect(await reach(survey)).toMatchObject({ targeted: 1, lateMatched: 1 });
    const byChannel = (await policyReach(t.db, grant)).byChannel;
    expect(byChannel).toEqual([expect.objectContaining({ channel: 'sms', targeted: 1, lateMatched: 1 })]);
  });

  it('lists a policy without actionBy (or with it passed) in the inbox only: no message; reading it there engages', async () => {
    const s = await scene();
    const noDeadline = await s.policy('no-deadline');
    const passed = await s.policy('passed', { actionBy: new Date(s.now.getTime() - DAY) });
    const e = await s.enterprise('reader');
    await s.subscribe(e.id);

    expect(await catchUpNewcomers(t.db, { now: s.now })).toMatchObject({ lateMatches: 2, notified: 0, messages: 0 });
    expect(await count(sql`select count(*)::int as n from deliveries where enterprise_id = ${e.id}`)).toBe(0);

    const inbox = await enterpriseInbox(t.db, e.id);
    expect(inbox.map((i) => [i.policyId, i.outcome, i.read]).sort()).toEqual(
      [
        [noDeadline, 'late-match', false],
        [passed, 'late-match', false],
      ].sort(),
    );
    expect(await reach(noDeadline)).toMatchObject({ targeted: 1, addressable: 0, lateMatched: 1, engaged: 0 });

    const read = await t.db.transaction((tx) =>
      markPolicyRead(tx, { contactId: e.contactId, enterpriseId: e.id, policyId: noDeadline, at: new Date() }),
    );
    expect(read.outcome).toBe('read');
    expect(await reach(noDeadline)).toMatchObject({ targeted: 1, engaged: 1, lateMatched: 1 });
  });

  it('catches up nothing expired or revoked', async () => {
    const s = await scene();
    const ahead = new Date(s.now.getTime() + 10 * DAY);
    const expired = await s.policy('expired', { actionBy: ahead, validUntil: new Date(s.now.getTime() - DAY) });
    const revoked = await s.policy('revoked', { actionBy: ahead, revoked: true });
    const e = await s.enterprise('late');
    await s.subscribe(e.id);

    expect(await catchUpNewcomers(t.db, { now: s.now })).toMatchObject({ lateMatches: 0, messages: 0 });
    expect(await lateMatches(e.id)).toBe(0);
    expect(await count(sql`select count(*)::int as n from deliveries where enterprise_id = ${e.id}`)).toBe(0);
    expect(await enterpriseInbox(t.db, e.id)).toEqual([]);
    expect(await reach(expired)).toMatchObject({ targeted: 0, lateMatched: 0 });
    expect(await reach(revoked)).toMatchObject({ targeted: 0, lateMatched: 0 });
  });

  it('never sends the same policy twice: subscribing again, or a profile change, catches up nothing new', async () => {
    const s = await scene();
    const grant = await s.policy('grant', { actionBy: new Date(s.now.getTime() + 10 * DAY) });
    const e = await s.enterprise('twice');
    await s.subscribe(e.id);
    await catchUpNewcomers(t.db, { now: s.now });
    expect(await digests(e.id)).toHaveLength(1);

    await s.subscribe(e.id);
    await t.db.execute(sql`update enterprises set size = 'medium' where id = ${e.id}`);
    expect(await count(sql`select count(*)::int as n from catch_up_queue where enterprise_id = ${e.id}`)).toBe(2);
    expect(await catchUpNewcomers(t.db, { now: s.now })).toMatchObject({ lateMatches: 0, messages: 0 });
    expect(await digests(e.id)).toHaveLength(1);
    expect(await count(sql`select count(*)::int as n from deliveries where enterprise_id = ${e.id}`)).toBe(2);
    expect(await reach(grant)).toMatchObject({ targeted: 1, lateMatched: 1 });
  });

  it('catches up an enterprise whose district changes so that it now matches', async () => {
    const s = await scene();
    const local = await s.policy('local', { actionBy: new Date(s.now.getTime() + 10 * DAY), districts: ['440106'] });
    const e = await s.enterprise('mover', '440104');
    await s.subscribe(e.id);
    expect(await catchUpNewcomers(t.db, { now: s.now })).toMatchObject({ lateMatches: 0 });
    expect(await lateMatches(e.id)).toBe(0);

    await t.db.execute(sql`update enterprises set district = '440106' where id = ${e.id}`);
    expect(await catchUpNewcomers(t.db, { now: s.now })).toMatchObject({ lateMatches: 1, notified: 1, messages: 1 });
    const made = await digests(e.id);
    expect(made).toHaveLength(1);
    expect((await loadDigestItems(t.db, [Number(made[0].id)])).get(Number(made[0].id))!.map((i) => i.policyId)).toEqual([local]);
    expect(await reach(local)).toMatchObject({ targeted: 1, lateMatched: 1 });
  });

  it('does not catch up an enterprise the policy already targeted', async () => {
    const s = await scene();
    const e = await s.enterprise('early');
    await s.subscribe(e.id);
    // Published the ordinary way after the subscription: the fan-out reaches it.
    const policyId = await s.policy('fanned', { actionBy: new Date(s.now.getTime() + 10 * DAY), publishedAgo: 0 });
    await t.db.execute(sql`insert into pushes (policy_id, policy_version, status) values (${policyId}, 1, 'fanning_out')`);
    // While an in-force policy is fanning out, the catch-up waits for it (the fan-out reaches newcomers itself).
    expect(await catchUpNewcomers(t.db, { now: s.now })).toMatchObject({ enterprises: 0, more: true });
    while (await fanOutNextChunk(t.db, 10_000));
    expect(await count(sql`select count(*)::int as n from deliveries where policy_id = ${policyId} and enterprise_id = ${e.id}`)).toBe(1);

    // Its subscription's queue row, then a profile change: nothing is caught up.
    expect(await catchUpNewcomers(t.db, { now: s.now })).toMatchObject({ lateMatches: 0 });
    await t.db.execute(sql`update enterprises set tags = array['exporter'] where id = ${e.id}`);
    expect(await catchUpNewcomers(t.db, { now: s.now })).toMatchObject({ lateMatches: 0, messages: 0 });
    expect(await lateMatches(e.id)).toBe(0);
    expect(await digests(e.id)).toEqual([]);
    expect(await reach(policyId)).toMatchObject({ targeted: 1, lateMatched: 0 });
  });
});
