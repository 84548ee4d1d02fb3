// Follow-up reminders (issue 15), driven from a `now` parameter with backdated rows: due steps
// remind only the enterprises not engaged, on the contact's next usable channel, within consent;
// revoke cancels; a step is taken once however many dispatchers race for it; at send, engagement
// stops a reminder and the daily cap drops one it would push past actionBy.
import type { Channel, ChannelAdapter, OutboundMessage } from '@policy-push/channels';
import { createLogger, parseConfig } from '@policy-push/core';
import {
  addressKey,
  beijingDay,
  countSends,
  createDueReminders,
  refreshReach,
  fanOutNextChunk,
  getPolicy,
  insertPolicyWithPush,
  type Policy,
  recordOpen,
  replaceReminderPlan,
  revokePolicy,
  rowsOf,
  sql,
} from '@policy-push/db';
import { acceptingAdapter, countingAdapter, createTestDb, type TestDb } from '@policy-push/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDispatcher } from '../src/dispatcher';
import { runReminders } from '../src/jobs/reminders';

const logger = createLogger({ level: 'silent' });
const secret = 'test-signing-secret-0123456789abcdef';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface ContactSpec {
  name: string;
  channels: Channel[];
  phone?: boolean;
  email?: boolean;
  openid?: boolean;
}

let t: TestDb;
let world: { departmentId: number; categoryId: number };
const ids = new Map<string, number>();

async function seed(contacts: ContactSpec[]) {
  const [dept] = rowsOf<{ id: string }>(
    await t.db.execute(
      sql`insert into departments (code, name_zh, name_en, sms_signature) values ('rem', '测试局', 'Test', '广州测试') returning id`,
    ),
  );
  const [cat] = rowsOf<{ id: string }>(
    await t.db.execute(sql`insert into categories (code, name_zh, name_en) values ('rem', '测试', 'Test') returning id`),
  );
  for (const [i, c] of contacts.entries()) {
    const [e] = rowsOf<{ id: string }>(
      await t.db.execute(sql`
        insert into enterprises (credit_code, name, industry_section, district, size)
        values (${`REM-${i}`}, ${c.name}, 'C', '440106', 'small') returning id`),
    );
    ids.set(c.name, Number(e.id));
    await t.db.execute(sql`
      insert into contacts (enterprise_id, phone, email, wechat_openid, channels)
      values (${Number(e.id)}, ${c.phone ? `+8613800${String(1000 + i)}` : null}, ${c.email ? `r${i}@example.com` : null},
        ${c.openid ? `oREM-${i}` : null}, ${`{${c.channels.join(',')}}`})`);
    await t.db.execute(
      sql`insert into subscriptions (enterprise_id, category_ids) values (${Number(e.id)}, array[${Number(cat.id)}::bigint])`,
    );
  }
  world = { departmentId: Number(dept.id), categoryId: Number(cat.id) };
}

/** Publishes, fans out, and marks every delivery sent (accepted, then left unread). */
async function publishSent(actionBy: Date | null): Promise<Policy> {
  const { policy } = await t.db.transaction((tx) =>
    insertPolicyWithPush(tx, {
      departmentId: world.departmentId,
      docNumber: `REM-${Math.random().toString(36).slice(2, 8)}`,
      title: '研发费用加计扣除申报',
      summary: '符合条件的企业请在申报期内提交材料。',
      url: 'https://policy.example.gov.cn/rd',
      categoryIds: [world.categoryId],
      actionBy,
    }),
  );
  while (await fanOutNextChunk(t.db, 100)) {
    /* until the push is fanned out */
  }
  await t.db.execute(sql`update deliveries set status = 'sent', sent_at = now() where status = 'pending'`);
  return policy;
}

async function open(enterprise: string) {
  const [d] = rowsOf<{ id: string; channel: string }>(
    await t.db.execute(sql`select id, channel from deliveries where enterprise_id = ${ids.get(enterprise)!} and kind = 'policy' limit 1`),
  );
  await t.db.transaction((tx) => recordOpen(tx, { deliveryId: Number(d.id), channel: d.channel, at: new Date() }));
}

const reminders = async (policyId: number) =>
  rowsOf<{ enterprise_id: string; channel: string; status: string; reminder_step: number; error_code: string | null }>(
    await t.db.execute(sql`
      select enterprise_id, channel, status, reminder_step, error_code from deliveries
      where policy_id = ${policyId} and kind = 'reminder' order by enterprise_id, reminder_step`),
  ).map((r) => ({
    enterprise: [...ids].find(([, id]) => id === Number(r.enterprise_id))![0],
    channel: r.channel,
    status: r.status,
    step: r.reminder_step,
    error: r.error_code,
  }));

const config = parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20' });
const jobDeps = () => ({ db: t.db, logger, settings: config.dispatcher });

/** Plans one step per delay (hours after publication), all due at `now`. */
async function planDue(policy: Policy, now: Date, steps = 1) {
  await replaceReminderPlan(
    t.db,
    policy.id,
    Array.from({ length: steps }, (_, i) => ({
      anchor: 'publish' as const,
      offsetHours: 72 + i,
      dueAt: new Date(now.getTime() - (steps - i) * 1000),
    })),
  );
}

describe('reminders', () => {
  beforeEach(async () => {
    t = await createTestDb();
    ids.clear();
  });
  afterEach(() => t.drop());

  it('remind only enterprises not engaged, on the next usable channel, within consent', async () => {
    await seed([
      { name: 'next', channels: ['wechat', 'sms', 'email'], openid: true, phone: true, email: true },
      { name: 'only-wechat', channels: ['wechat'], openid: true },
      { name: 'engaged', channels: ['wechat', 'sms'], openid: true, phone: true },
      { name: 'reminders-off', channels: ['wechat', 'sms'], openid: true, phone: true },
      { name: 'unsubscribed', channels: ['wechat', 'sms'], openid: true, phone: true },
      { name: 'sms-opted-out', channels: ['wechat', 'sms'], openid: true, phone: true },
    ]);
    const now = new Date(Date.now() + 3 * DAY);
    const policy = await publishSent(new Date(now.getTime() + 5 * DAY));
    await open('engaged');
    await t.db.execute(sql`update contacts set reminders_off = true where enterprise_id = ${ids.get('reminders-off')!}`);
    await t.db.execute(sql`update subscriptions set active = false where enterprise_id = ${ids.get('unsubscribed')!}`);
    await t.db.execute(sql`update contacts set opted_out = '{sms}' where enterprise_id = ${ids.get('sms-opted-out')!}`);
    await planDue(policy, now, 2);
    // A step not yet due stays planned.
    await t.db.execute(sql`update reminder_steps set due_at = ${new Date(now.getTime() + HOUR).toISOString()}::timestamptz where step = 2`);

    const result = await runReminders(jobDeps(), now);
    expect(result.steps).toEqual([{ policyId: policy.id, step: 1, reminders: 3 }]);
    expect(await reminders(policy.id)).toEqual([
      { enterprise: 'next', channel: 'sms', status: 'pending', step: 1, error: null },
      { enterprise: 'only-wechat', channel: 'wechat', status: 'pending', step: 1, error: null },
      { enterprise: 'sms-opted-out', channel: 'wechat', status: 'pending', step: 1, error: null },
    ]);
    const steps = rowsOf<{ step: number; status: string; reminders: number }>(
      await t.db.execute(sql`select step, status, reminders from reminder_steps where policy_id = ${policy.id} order by step`),
    );
    expect(steps).toEqual([
      { step: 1, status: 'done', reminders: 3 },
      { step: 2, status: 'planned', reminders: 0 },
    ]);
    // Running again at the same time takes nothing more.
    expect((await runReminders(jobDeps(), now)).steps).toEqual([]);

    // The next step goes on the channel after the reminder's: SMS unread → email; one channel → the same again.
    await t.db.execute(sql`update deliveries set status = 'sent', sent_at = now() where kind = 'reminder'`);
    // Opening a reminder is engagement: that enterprise gets no further step.
    const [opened] = rowsOf<{ id: string }>(
      await t.db.execute(sql`select id from deliveries where kind = 'reminder' and enterprise_id = ${ids.get('sms-opted-out')!}`),
    );
    await t.db.transaction((tx) => recordOpen(tx, { deliveryId: Number(opened.id), channel: 'wechat', at: new Date() }));
    const later = new Date(now.getTime() + 2 * HOUR);
    expect((await runReminders(jobDeps(), later)).steps).toEqual([{ policyId: policy.id, step: 2, reminders: 2 }]);
    expect((await reminders(policy.id)).filter((r) => r.step === 2).map((r) => [r.enterprise, r.channel])).toEqual([
      ['next', 'email'],
      ['only-wechat', 'wechat'],
    ]);
  });

  it('revoking cancels the steps and the reminders not yet sent; a step past actionBy is cancelled', async () => {
    await seed([{ name: 'a', channels: ['sms'], phone: true }]);
    const now = new Date(Date.now() + 3 * DAY);
    const policy = await publishSent(new Date(now.getTime() + DAY));
    await planDue(policy, now, 2);
    await t.db.execute(sql`update reminder_steps set due_at = ${new Date(now.getTime() + HOUR).toISOString()}::timestamptz where step = 2`);
    await runReminders(jobDeps(), now);
    expect((await reminders(policy.id)).map((r) => r.status)).toEqual(['pending']);
    await t.db.transaction(async (tx) => revokePolicy(tx, (await getPolicy(tx, policy.id))!, '撤回', false));
    expect((await reminders(policy.id)).map((r) => [r.status, r.error])).toEqual([['cancelled', 'policy_withdrawn']]);
    const statuses = rowsOf<{ status: string }>(await t.db.execute(sql`select status from reminder_steps order by step`));
    expect(statuses.map((s) => s.status)).toEqual(['done', 'cancelled']);
    expect((await runReminders(jobDeps(), new Date(now.getTime() + 2 * HOUR))).steps).toEqual([]);

    // Another policy whose step falls due after its actionBy: cancelled, nothing sent.
    const late = await publishSent(new Date(now.getTime() - HOUR));
    await planDue(late, now);
    const result = await runReminders(jobDeps(), now);
    expect(result).toEqual({ steps: [], cancelled: 1 });
    expect(await reminders(late.id)).toEqual([]);
  });

  it('two dispatchers racing for a step: it is taken once, one reminder per address', async () => {
    // Two contacts of two enterprises share a phone: one message for the step.
    await seed([
      { name: 'a', channels: ['sms'], phone: true },
      { name: 'b', channels: ['sms'], phone: true },
      { name: 'c', channels: ['sms'], phone: true },
    ]);
    await t.db.execute(sql`update contacts set phone = '+8613800001000' where enterprise_id in (${ids.get('a')!}, ${ids.get('b')!})`);
    const now = new Date(Date.now() + 3 * DAY);
    const policy = await publishSent(new Date(now.getTime() + 5 * DAY));
    await planDue(policy, now);
    const rule = { requireConfirmedEmail: false };
    await refreshReach(t.db);
    const [one, two] = await Promise.all([
      createDueReminders(t.db, { now, maxSteps: 3, rule }),
      createDueReminders(t.db, { now, maxSteps: 3, rule }),
    ]);
    expect([...one.steps, ...two.steps]).toHaveLength(1);
    const all = await reminders(policy.id);
    expect(all).toHaveLength(3);
    expect(all.filter((r) => r.status === 'pending')).toHaveLength(2);
    expect(all.filter((r) => r.status === 'merged')).toHaveLength(1);
    // REMINDER_MAX_STEPS counts the steps taken: with one taken and a cap of 1, the next is cancelled.
    await replaceReminderPlan(t.db, policy.id, [{ anchor: 'publish', offsetHours: 73, dueAt: new Date(now.getTime() - 500) }]);
    expect(await createDueReminders(t.db, { now, maxSteps: 1, rule })).toEqual({ steps: [], cancelled: 1 });
  });

  it('at send: a reminder whose enterprise engaged meanwhile is cancelled; one the cap would push past actionBy is too late', async () => {
    await seed([
      { name: 'engaged-later', channels: ['sms'], phone: true },
      { name: 'capped', channels: ['sms'], phone: true },
      { name: 'sent', channels: ['sms'], phone: true },
    ]);
    const now = new Date();
    // actionBy before the next Beijing midnight: a reminder over today's cap cannot wait for tomorrow.
    const beijingMidnight = Math.floor((now.getTime() + 8 * HOUR) / DAY) * DAY + DAY - 8 * HOUR;
    const policy = await publishSent(new Date(Math.min(beijingMidnight - 1000, now.getTime() + 2 * HOUR)));
    await planDue(policy, now);
    await runReminders(jobDeps(), now);
    expect(await reminders(policy.id)).toHaveLength(3);
    // Engaged after the step was taken, before the send.
    await open('engaged-later');
    await refreshReach(t.db);
    // The capped contact's phone already had its pushes today.
    const capConfig = parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20', RECIPIENT_DAILY_CAP: '1' });
    const [capped] = rowsOf<{ phone: string }>(
      await t.db.execute(sql`select phone from contacts where enterprise_id = ${ids.get('capped')!}`),
    );
    await countSends(t.db, [addressKey('sms', capped.phone)], beijingDay(now));
    const calls: OutboundMessage[] = [];
    const adapters: Record<Channel, ChannelAdapter> = {
      wechat: acceptingAdapter('wechat'),
      sms: countingAdapter(acceptingAdapter('sms') as unknown as ChannelAdapter, calls),
      email: acceptingAdapter('email'),
    };
    const d = await startDispatcher({ config: capConfig, db: t, logger, signingSecret: secret, withJobs: false, adapters });
    await vi.waitFor(
      async () => expect((await reminders(policy.id)).every((r) => r.status !== 'pending' && r.status !== 'sending')).toBe(true),
      {
        timeout: 20_000,
      },
    );
    await d.stop();
    expect((await reminders(policy.id)).map((r) => [r.enterprise, r.status, r.error])).toEqual([
      ['engaged-later', 'cancelled', 'engaged'],
      ['capped', 'cancelled', 'too_late'],
      ['sent', 'sent', null],
    ]);
    expect(calls).toHaveLength(1);
    // The text says what the policy asks and by when.
    expect(calls[0].content).toMatchObject({
      text: expect.stringMatching(/【广州测试】提醒：研发费用加计扣除申报：请于.*（北京时间）前办理。/),
    });
  });
});
