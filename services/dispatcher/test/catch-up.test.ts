import type { OutboundMessage } from '@policy-push/channels';
import { createLogger, parseConfig } from '@policy-push/core';
import { catchUpNewcomers, fanOutNextChunk, rowsOf } from '@policy-push/db';
import { acceptingAdapter, countingAdapter, createTestDb, seedPolicy, seedSubscribers, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startDispatcher } from '../src/dispatcher';

describe('catch-up for newcomers', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await createTestDb();
  });
  afterEach(() => t.drop());

  it('sends a newcomer one message listing the policies it missed whose actionBy is ahead, through the ordinary send path', async () => {
    const s = await seedSubscribers(t.db, 1);
    const titles = ['稳岗补贴申领指南', '中小企业租金减免', '无截止日期的政策'];
    for (const title of titles) {
      const p = await seedPolicy(t.db, s);
      const actionBy = title === '无截止日期的政策' ? null : new Date(Date.now() + 10 * 86_400_000).toISOString();
      await t.db.execute(sql`update policies set title = ${title}, action_by = ${actionBy}::timestamptz where id = ${p.policy.id}`);
    }
    while (await fanOutNextChunk(t.db, 100)) {}

    // The newcomer subscribes after all three went out.
    const [e] = rowsOf<{ id: string }>(
      await t.db.execute(sql`insert into enterprises (credit_code, name, industry_section, district, size)
        values ('NEWCOMER-1', '新来企业', 'C', '440106', 'small') returning id`),
    );
    await t.db.execute(sql`insert into contacts (enterprise_id, email, channels) values (${e.id}, 'newcomer@example.com', '{email}')`);
    await t.db.execute(sql`insert into subscriptions (enterprise_id, category_ids) values (${e.id}, array[${s.categoryId}::bigint])`);
    expect(await catchUpNewcomers(t.db)).toMatchObject({ lateMatches: 3, notified: 2, messages: 1 });

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
    await vi.waitFor(() => expect(calls.filter((m) => m.to === 'newcomer@example.com')).toHaveLength(1));
    await d.stop();
    const [m] = calls.filter((c) => c.to === 'newcomer@example.com');
    if (m.channel !== 'email') throw new Error('expected email');
    expect(m.content.text).toContain('稳岗补贴申领指南');
    expect(m.content.text).toContain('中小企业租金减免');
    expect(m.content.text).not.toContain('无截止日期的政策');
    // Nothing more is caught up, however often the job comes round.
    expect(await catchUpNewcomers(t.db)).toMatchObject({ lateMatches: 0, messages: 0 });
  });
});
