import type { OutboundMessage } from '@policy-push/channels';
import { createLogger, parseConfig } from '@policy-push/core';
import { fanOutNextChunk, foldDigests, revokePolicy, rowsOf } from '@policy-push/db';
import { acceptingAdapter, countingAdapter, createTestDb, seedPolicy, seedSubscribers, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDispatcher } from '../src/dispatcher';

describe('digests', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('folds a day of held policies into one message per contact, without the revoked one', async () => {
    const s = await seedSubscribers(t.db, 2);
    await t.db.execute(sql`update subscriptions set frequency = 'daily'`);
    const policies: Awaited<ReturnType<typeof seedPolicy>>[] = [];
    for (const title of ['稳岗补贴申领指南', '中小企业租金减免', '数字新基建行动计划', '已撤回的政策']) {
      const p = await seedPolicy(t.db, s);
      await t.db.execute(sql`update policies set title = ${title} where id = ${p.policy.id}`);
      policies.push(p);
    }
    while (await fanOutNextChunk(t.db, 100)) {}
    const held = rowsOf<{ n: number }>(
      await t.db.execute(sql`select count(*)::int as n from deliveries where status = 'held' and digest_period = 'daily'`),
    );
    expect(held[0].n).toBe(8);
    await t.db.transaction((tx) => revokePolicy(tx, policies[3].policy, '发布有误', false));

    expect(await foldDigests(t.db, 'daily', 'daily:2026-11-27')).toBe(2);
    expect(await foldDigests(t.db, 'daily', 'daily:2026-11-27')).toBe(0); // a second firing makes nothing

    const calls: OutboundMessage[] = [];
    const d = await startDispatcher({
      config: parseConfig({ QUIET_HOURS: '00:00-00:00', DISPATCH_POLL_MS: '20' }),
      db: t,
      logger: createLogger({ level: 'silent' }),
      signingSecret: 'test-signing-secret-0123456789abcdef',
      withJobs: false,
      adapters: {
        wechat: acceptingAdapter('wechat'),
        sms: acceptingAdapter('sms'),
        email: countingAdapter(acceptingAdapter('email'), calls),
      },
    });
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    await d.stop();
    for (const m of calls) {
      if (m.channel !== 'email') throw new Error('expected email');
      expect(m.content.subject).toContain('3项新政策');
      for (const title of ['稳岗补贴申领指南', '中小企业租金减免', '数字新基建行动计划']) expect(m.content.text).toContain(title);
      expect(m.content.text).not.toContain('已撤回的政策');
      expect(m.content.text).toMatch(/\/p\/\d+\./); // the inbox on the preferences page
    }
    const statuses = rowsOf<{ kind: string; status: string; n: number }>(
      await t.db.execute(sql`select kind, status, count(*)::int as n from deliveries group by kind, status order by kind, status`),
    );
    expect(statuses).toEqual([
      { kind: 'digest', status: 'sent', n: 2 },
      { kind: 'policy', status: 'cancelled', n: 2 },
      { kind: 'policy', status: 'digested', n: 6 },
    ]);
  });
});
