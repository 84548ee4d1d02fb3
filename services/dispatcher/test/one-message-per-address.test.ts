// One address, one message, on every path (issue 11, defect 1), counted as raw adapter calls:
// at most one message per address per policy version whatever its kind (the policy or its update
// notice), one revocation notice per address per policy, a digest being the message for every
// policy it lists; fallbacks, retries and push-again reuse the address's claim; one reminder per
// address per follow-up step (issue 15).
import type { Channel, ChannelAdapter, OutboundMessage } from '@policy-push/channels';
import { createLogger, parseConfig } from '@policy-push/core';
import {
  amendPolicy,
  foldDigests,
  getPolicy,
  insertPolicyWithPush,
  type Policy,
  restartPush,
  revokePolicy,
  rowsOf,
  sql,
} from '@policy-push/db';
import { acceptingAdapter, countingAdapter, createTestDb, type TestDb } from '@policy-push/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Dispatcher, startDispatcher } from '../src/dispatcher';
import { runReminders } from '../src/jobs/reminders';

const logger = createLogger({ level: 'silent' });
// The per-recipient cap off: what it holds back goes to a digest, which the property covers by
// folding digests itself; with it on, runs would also depend on how many runs came before.
const config = parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '10', RECIPIENT_DAILY_CAP: '0' });

/** Accepts every message except those to `bad` addresses, which are refused for good (a fallback follows). */
function adapters(calls: OutboundMessage[], bad: Set<string>): Record<Channel, ChannelAdapter> {
  const make = (channel: Channel): ChannelAdapter => {
    const ok = acceptingAdapter(channel) as unknown as ChannelAdapter;
    return {
      ...ok,
      send: async (m: OutboundMessage) => (bad.has(m.to) ? { outcome: 'permanent', code: 'bad_address', message: 'refused' } : ok.send(m)),
    };
  };
  return {
    wechat: countingAdapter(make('wechat'), calls),
    sms: countingAdapter(make('sms'), calls),
    email: countingAdapter(make('email'), calls),
  };
}

interface ContactSpec {
  channels: Channel[];
  phone: number | null;
  email: number | null;
  openid: number | null;
  daily: boolean;
}

let t: TestDb;
let dispatcher: Dispatcher;
const calls: OutboundMessage[] = [];
const bad = new Set<string>();
let run = 0;

beforeAll(async () => {
  t = await createTestDb();
  dispatcher = await startDispatcher({
    config,
    db: t,
    logger,
    adapters: adapters(calls, bad),
    withJobs: false,
    signingSecret: 'test-signing-secret-0123456789abcdef',
  });
});
afterAll(async () => {
  await dispatcher.stop();
  await t.drop();
});

/** A world of its own (department, category, enterprises): addresses are drawn from small pools so they are shared. */
async function seedWorld(contacts: ContactSpec[]): Promise<{ departmentId: number; categoryId: number }> {
  const n = `${process.pid}-${++run}`;
  const [dept] = rowsOf<{ id: string }>(
    await t.db.execute(
      sql`insert into departments (code, name_zh, name_en, sms_signature) values (${'dept-' + n}, '测试局', 'Test', '广州测试') returning id`,
    ),
  );
  const [cat] = rowsOf<{ id: string }>(
    await t.db.execute(sql`insert into categories (code, name_zh, name_en) values (${'cat-' + n}, '测试', 'Test') returning id`),
  );
  for (const [i, c] of contacts.entries()) {
    const [e] = rowsOf<{ id: string }>(
      await t.db.execute(sql`
        insert into enterprises (credit_code, name, industry_section, district, size)
        values (${`E${n}-${i}`}, ${'企业' + i}, 'C', '440106', 'small') returning id`),
    );
    await t.db.execute(sql`
      insert into contacts (enterprise_id, phone, email, wechat_openid, channels)
      values (${Number(e.id)}, ${c.phone === null ? null : `+86138${String(run).padStart(4, '0')}${String(c.phone).padStart(4, '0')}`},
        ${c.email === null ? null : `a${c.email}.r${run}@example.com`}, ${c.openid === null ? null : `oR${run}-${c.openid}`},
        ${`{${c.channels.join(',')}}`})`);
    await t.db.execute(sql`
      insert into subscriptions (enterprise_id, category_ids, frequency)
      values (${Number(e.id)}, array[${Number(cat.id)}::bigint], ${c.daily ? 'daily' : 'immediate'})`);
  }
  return { departmentId: Number(dept.id), categoryId: Number(cat.id) };
}

async function publish(w: { departmentId: number; categoryId: number }): Promise<Policy> {
  const { policy } = await t.db.transaction((tx) =>
    insertPolicyWithPush(tx, {
      departmentId: w.departmentId,
      docNumber: `ADDR-${process.pid}-${run}`,
      title: '测试政策',
      summary: '测试摘要',
      url: 'https://policy.example.gov.cn/test',
      categoryIds: [w.categoryId],
    }),
  );
  dispatcher.wake();
  return policy;
}

/**
 * Every push fanned out and every delivery at rest. At rest twice in a row, with nothing changed
 * between: an ack commits a failure before it creates the fallback (outbox-queries.ts), so one
 * look alone can fall between the two.
 */
async function settled(): Promise<void> {
  dispatcher.wake();
  let last = '';
  await vi.waitFor(
    async () => {
      const [row] = rowsOf<{ busy: number; state: string }>(
        await t.db.execute(sql`
          select (select count(*) from pushes where status = 'fanning_out')::int
               + (select count(*) from deliveries where status in ('pending', 'sending'))::int as busy,
            (select count(*) || ':' || coalesce(max(updated_at)::text, '') from deliveries) as state`),
      );
      const previous = last;
      last = row.state;
      expect(row.busy).toBe(0);
      expect(row.state).toBe(previous);
    },
    { timeout: 20_000, interval: 150 },
  );
}

async function amend(policyId: number, n: number): Promise<void> {
  const policy = (await getPolicy(t.db, policyId))!;
  await t.db.transaction((tx) => amendPolicy(tx, policy, { summary: `第${n}次修改的摘要。` }));
  await settled();
}

async function revoke(policyId: number): Promise<void> {
  const policy = (await getPolicy(t.db, policyId))!;
  await t.db.transaction((tx) => revokePolicy(tx, policy, '测试撤回', true));
  await settled();
}

async function pushAgain(policyId: number): Promise<void> {
  const policy = (await getPolicy(t.db, policyId))!;
  await restartPush(t.db, policy);
  await settled();
}

/** A follow-up step due now, taken by the reminders job (twice: the second run must take nothing). */
async function remind(policyId: number): Promise<void> {
  await t.db.execute(sql`
    insert into reminder_steps (policy_id, step, anchor, offset_hours, due_at)
    select ${policyId}, coalesce(max(step), 0) + 1, 'publish', 1, now() - interval '1 minute' from reminder_steps where policy_id = ${policyId}`);
  const deps = { db: t.db, logger, settings: config.dispatcher };
  await Promise.all([runReminders(deps, new Date()), runReminders(deps, new Date())]);
  await settled();
}

async function digest(): Promise<void> {
  await foldDigests(t.db, 'daily', `daily:run-${run}-${Math.random().toString(36).slice(2, 8)}`);
  await settled();
}

/**
 * The messages each address got, per policy version (policy, update notice, or a digest listing
 * it) and per policy for revocation notices: the keys with more than one raw call.
 */
async function repeats(from: number): Promise<Record<string, number>> {
  const sent = calls.slice(from);
  const ids = sent.map((m) => Number(m.deliveryId));
  const rows = rowsOf<{ id: string; kind: string; policy_id: string | null; policy_version: number | null; reminder_step: number | null }>(
    await t.db.execute(sql`
      select d.id::text as id, d.kind, d.policy_id::text as policy_id, d.policy_version, d.reminder_step from deliveries d
      where d.id = any(${`{${ids.join(',')}}`}::bigint[]) and d.kind <> 'digest'
      union all
      select g.id::text, 'digest', h.policy_id::text, h.policy_version, null
      from deliveries g join deliveries h on h.digest_id = g.id
      where g.id = any(${`{${ids.join(',')}}`}::bigint[]) and g.kind = 'digest'`),
  );
  const byId = new Map<string, typeof rows>();
  for (const r of rows) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  const counts: Record<string, number> = {};
  for (const m of sent) {
    for (const r of byId.get(m.deliveryId) ?? []) {
      const key =
        r.kind === 'revocation'
          ? `${m.to} revocation of ${r.policy_id}`
          : r.kind === 'reminder'
            ? `${m.to} reminder ${r.reminder_step} of ${r.policy_id}`
            : `${m.to} ${r.policy_id} v${r.policy_version}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 1));
}

describe('one message per address', () => {
  it('an amendment sends a shared phone one message for the new version, not the notice and the policy', async () => {
    const from = calls.length;
    const phone = { channels: ['sms'] as Channel[], phone: 1, email: null, openid: null, daily: false };
    const policy = await publish(await seedWorld([phone, phone, phone]));
    await settled();
    expect(calls.length - from).toBe(1);
    await amend(policy.id, 1);
    expect(calls.length - from).toBe(2);
    expect(await repeats(from)).toEqual({});
  });

  it('a fallback to an address that already has the policy is merged, not sent', async () => {
    const from = calls.length;
    // The first contact's WeChat refuses; its fallback is the phone the second contact's SMS reached.
    const world = await seedWorld([
      { channels: ['wechat', 'sms'], phone: 1, email: null, openid: 1, daily: false },
      { channels: ['sms'], phone: 1, email: null, openid: null, daily: false },
    ]);
    bad.add(`oR${run}-1`);
    const policy = await publish(world);
    await settled();
    expect(await repeats(from)).toEqual({});
    const statuses = rowsOf<{ channel: string; status: string }>(
      await t.db.execute(sql`select channel, status from deliveries where policy_id = ${policy.id} order by id`),
    );
    expect(statuses).toEqual([
      { channel: 'wechat', status: 'failed' },
      { channel: 'sms', status: 'sent' },
      { channel: 'sms', status: 'merged' },
    ]);
  });

  it('a reminder step sends a shared phone one message, and each step at most one', async () => {
    const from = calls.length;
    const phone = { channels: ['sms'] as Channel[], phone: 1, email: null, openid: null, daily: false };
    const policy = await publish(await seedWorld([phone, phone, phone]));
    await settled();
    await remind(policy.id);
    await remind(policy.id);
    // The policy once, then one reminder per step.
    expect(calls.length - from).toBe(3);
    expect(await repeats(from)).toEqual({});
  });

  it('holds over random worlds of shared addresses × amend, revoke, push again and digests', async () => {
    const pool = (n: number) => fc.option(fc.integer({ min: 1, max: n }), { nil: null, freq: 3 });
    const contact = fc.record({
      channels: fc.uniqueArray(fc.constantFrom<Channel>('wechat', 'sms', 'email'), { minLength: 1, maxLength: 3 }),
      phone: pool(2),
      email: pool(2),
      openid: pool(2),
      daily: fc.boolean(),
    });
    const world = fc.record({
      contacts: fc.array(contact, { minLength: 2, maxLength: 6 }),
      // Refused addresses: their deliveries fail at once and fall back.
      badPhones: fc.subarray([1, 2], { maxLength: 1 }),
      badOpenids: fc.subarray([1, 2], { maxLength: 1 }),
      ops: fc.array(fc.constantFrom('amend', 'pushAgain', 'digest', 'remind'), { maxLength: 4 }),
      revoke: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const from = calls.length;
        const seeded = await seedWorld(w.contacts);
        for (const p of w.badPhones) bad.add(`+86138${String(run).padStart(4, '0')}${String(p).padStart(4, '0')}`);
        for (const o of w.badOpenids) bad.add(`oR${run}-${o}`);
        const policy = await publish(seeded);
        await settled();
        let n = 0;
        for (const op of w.ops) {
          if (op === 'amend') await amend(policy.id, ++n);
          else if (op === 'pushAgain') await pushAgain(policy.id);
          else if (op === 'remind') await remind(policy.id);
          else await digest();
        }
        await digest();
        if (w.revoke) await revoke(policy.id);
        expect(await repeats(from)).toEqual({});
      }),
      { numRuns: 30, endOnFailure: true },
    );
  }, 300_000);
});
