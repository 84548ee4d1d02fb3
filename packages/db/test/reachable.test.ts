// "Is this contact reachable on channel X" has one definition (packages/core reachable.ts) and one
// SQL twin (queries/reachable-sql.ts): they must agree on every state a contact can be in, and the
// statements that ask — fallbacks, group audiences — must apply the deployment's whole rule
// (before, only matching checked that an email was confirmed).
import { type ReachabilityRule, type ReachableContact, whyUnreachable } from '@policy-push/core';
import { createTestDb, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFallbacks, groupAudience, reachableSql, rowsOf, unreachableReasonSql } from '../src';

const CHANNELS = ['wechat', 'sms', 'email'];
const RULES: ReachabilityRule[] = [{ requireConfirmedEmail: false }, { requireConfirmedEmail: true }];
let n = 0;
const one = async (t: TestDb, q: ReturnType<typeof sql>) => Number(rowsOf<{ id: string | number }>(await t.db.execute(q))[0].id);

describe('reachability', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  const enterprise = async () => {
    const tag = `${process.pid}-${++n}`;
    return one(
      t,
      sql`insert into enterprises (credit_code, name, industry_section, district, size) values (${'RCH' + tag}, ${'企业' + tag}, 'C', '440106', 'small') returning id`,
    );
  };

  it('SQL and TypeScript agree on every combination of addresses, opt-outs, suppression and confirmation', async () => {
    const enterpriseId = await enterprise();
    const contacts: (ReachableContact & { id: number })[] = [];
    for (let bits = 0; bits < 256; bits++) {
      const has = (i: number) => (bits & (1 << i)) !== 0;
      const c = {
        phone: has(0) ? `+86138${String(bits).padStart(8, '0')}` : null,
        email: has(1) ? `r${bits}@example.com` : null,
        wechatOpenid: has(2) ? `openid-reach-${bits}` : null,
        optedOut: CHANNELS.filter((_, i) => has(3 + i)),
        suppressed: has(6),
        emailConfirmedAt: has(7) ? new Date('2030-01-01T00:00:00Z') : null,
      };
      const id = await one(
        t,
        sql`insert into contacts (enterprise_id, phone, email, wechat_openid, opted_out, suppressed, email_confirmed_at)
          values (${enterpriseId}, ${c.phone}, ${c.email}, ${c.wechatOpenid}, ${sql.param(c.optedOut)}::text[], ${c.suppressed},
            ${c.emailConfirmedAt?.toISOString() ?? null}::timestamptz) returning id`,
      );
      contacts.push({ ...c, id });
    }
    for (const rule of RULES) {
      const rows = rowsOf<{ id: string | number; channel: string; reachable: boolean; reason: string | null }>(
        await t.db.execute(sql`
          select c.id, ch.channel, ${reachableSql('c', sql`ch.channel`, rule)} as reachable,
            ${unreachableReasonSql('c', sql`ch.channel`, rule)} as reason
          from contacts c cross join unnest(array['wechat', 'sms', 'email', 'fax']) ch(channel)
          where c.enterprise_id = ${enterpriseId}`),
      );
      expect(rows).toHaveLength(256 * 4);
      for (const r of rows) {
        const c = contacts.find((x) => x.id === Number(r.id))!;
        const why = whyUnreachable(c, r.channel, rule);
        expect({ id: c.id, channel: r.channel, rule, reason: r.reason, reachable: r.reachable }).toEqual({
          id: c.id,
          channel: r.channel,
          rule,
          reason: why,
          reachable: why === null,
        });
      }
    }
  });

  it('a fallback never goes to an unconfirmed email where the deployment requires confirmation', async () => {
    const enterpriseId = await enterprise();
    const contactId = await one(
      t,
      sql`insert into contacts (enterprise_id, phone, email) values (${enterpriseId}, '+8613912345678', 'unconfirmed@example.com') returning id`,
    );
    const departmentId = await one(
      t,
      sql`insert into departments (code, name_zh, name_en, sms_signature) values (${'rch-' + ++n}, '局', 'Bureau', '签名') returning id`,
    );
    const failed = async () => {
      const policyId = await one(
        t,
        sql`insert into policies (department_id, doc_number, title, summary, url, status, version, publish_at)
          values (${departmentId}, ${'RCH-' + ++n}, '标题', '摘要', 'https://policy.example.gov.cn/r', 'published', 1, now()) returning id`,
      );
      return one(
        t,
        sql`insert into deliveries (policy_id, policy_version, enterprise_id, contact_id, channel, kind, status, error_code, fallback_channels)
          values (${policyId}, 1, ${enterpriseId}, ${contactId}, 'sms', 'policy', 'failed', '30005', array['email']) returning id`,
      );
    };
    expect(await createFallbacks(t.db, [await failed()], { requireConfirmedEmail: true })).toEqual([]);
    expect(await createFallbacks(t.db, [await failed()], { requireConfirmedEmail: false })).toHaveLength(1);
    await t.db.execute(sql`update contacts set email_confirmed_at = now() where id = ${contactId}`);
    expect(await createFallbacks(t.db, [await failed()], { requireConfirmedEmail: true })).toHaveLength(1);
  });

  it("a group's reachable contacts leave out those reachable only by an unconfirmed email, where confirmation is required", async () => {
    const enterpriseId = await enterprise();
    const departmentId = await one(
      t,
      sql`insert into departments (code, name_zh, name_en, sms_signature) values (${'rch-' + ++n}, '局', 'Bureau', '签名') returning id`,
    );
    const groupId = await one(t, sql`insert into service_groups (department_id, name) values (${departmentId}, 'g') returning id`);
    await t.db.execute(sql`insert into service_group_members (group_id, enterprise_id) values (${groupId}, ${enterpriseId})`);
    await t.db.execute(sql`insert into contacts (enterprise_id, email) values (${enterpriseId}, 'only-email@example.com')`);
    await t.db.execute(sql`insert into contacts (enterprise_id, phone) values (${enterpriseId}, '+8613912345679')`);
    const group = { id: groupId, rule: null };
    expect(await groupAudience(t.db, group, 1, { requireConfirmedEmail: true })).toMatchObject({ contacts: 2, reachableContacts: 1 });
    expect(await groupAudience(t.db, group, 1, { requireConfirmedEmail: false })).toMatchObject({ contacts: 2, reachableContacts: 2 });
  });
});
