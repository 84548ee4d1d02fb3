// The SQL matching must select exactly what the in-memory reference (packages/core/src/matching.ts,
// written straight from ARCHITECTURE.md) selects, channels and reasons included, for random worlds.
import {
  type AudienceRule,
  type Channel,
  type RefCategory,
  type RefContact,
  type RefEnterprise,
  type RefGroup,
  type RefPolicy,
  type RefSubscription,
  referenceMatch,
} from '@policy-push/core';
import { createTestDb, type TestDb } from '@policy-push/testkit';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMatchTarget, matchedDeliveriesSql, rowsOf } from '../src';

const SECTIONS = ['C', 'I', 'M'];
const DIVISIONS: Record<string, string[]> = { C: ['13', '27', '39'], I: ['63', '65'], M: ['73', '75'] };
const DISTRICTS = ['440103', '440104', '440106'];
const SIZES = ['large', 'medium', 'small', 'micro'];
const TAGS = ['高新技术企业', '规上工业', 'startup'];
const CHANNELS: Channel[] = ['wechat', 'sms', 'email'];

const subset = <T>(xs: T[]) => fc.subarray(xs, { minLength: 1 });
const ruleArb: fc.Arbitrary<AudienceRule> = fc.record(
  {
    industries: fc.record({ any: subset([...SECTIONS, ...Object.values(DIVISIONS).flat()]) }),
    districts: fc.record({ any: subset(DISTRICTS) }),
    sizes: fc.record({ any: subset(SIZES) }),
    tags: fc.oneof(fc.record({ any: subset(TAGS) }), fc.record({ all: subset(TAGS) }), fc.record({ any: subset(TAGS), all: subset(TAGS) })),
  },
  { requiredKeys: [] },
);

const worldArb = fc
  .record({
    enterpriseCount: fc.integer({ min: 1, max: 12 }),
    seed: fc.array(fc.nat(1000), { minLength: 400, maxLength: 400 }),
    groupRules: fc.array(fc.option(ruleArb, { nil: null }), { maxLength: 3 }),
    policyRule: fc.option(ruleArb, { nil: null }),
    urgent: fc.boolean(),
    requireConfirmedEmail: fc.boolean(),
  })
  .map(buildWorld);

function buildWorld(w: {
  enterpriseCount: number;
  seed: number[];
  groupRules: (AudienceRule | null)[];
  policyRule: AudienceRule | null;
  urgent: boolean;
  requireConfirmedEmail: boolean;
}) {
  let i = 0;
  const next = (n: number) => w.seed[i++ % w.seed.length] % n;
  const pick = <T>(xs: T[]) => xs[next(xs.length)];
  const some = <T>(xs: T[]) => xs.filter(() => next(2) === 0);

  // categories 1..4: 1 ← 2 ← 3 (chain), 4 alone
  const categories: RefCategory[] = [
    { id: 1, parentId: null },
    { id: 2, parentId: 1 },
    { id: 3, parentId: 2 },
    { id: 4, parentId: null },
  ];
  const enterprises: RefEnterprise[] = [];
  const contacts: RefContact[] = [];
  const subscriptions: RefSubscription[] = [];
  for (let e = 1; e <= w.enterpriseCount; e++) {
    const section = pick(SECTIONS);
    enterprises.push({
      id: e,
      industrySection: section,
      industryDivision: next(3) ? pick(DIVISIONS[section]) : null,
      district: pick(DISTRICTS),
      size: pick(SIZES),
      tags: some(TAGS),
    });
    for (let c = 0; c < next(3); c++) {
      contacts.push({
        id: contacts.length + 1,
        enterpriseId: e,
        phone: next(3) ? `+12025550${100 + contacts.length}` : null,
        email: next(3) ? `c${contacts.length}@example.com` : null,
        wechatOpenid: next(3) ? `openid-${contacts.length}` : null,
        channels: fc.sample(fc.shuffledSubarray(CHANNELS, { minLength: 1 }), { numRuns: 1, seed: next(1000) })[0],
        optedOut: some(CHANNELS).filter(() => next(3) === 0),
        suppressed: next(8) === 0,
        emailConfirmedAt: next(2) ? new Date('2030-01-01T00:00:00Z') : null,
      });
    }
    for (let s = 0; s < next(3); s++) {
      subscriptions.push({
        id: subscriptions.length + 1,
        enterpriseId: e,
        categoryIds: some([1, 2, 3, 4]),
        departmentIds: next(4) === 0 ? [pick([1, 2])] : [],
        channels: next(2) ? fc.sample(fc.shuffledSubarray(CHANNELS), { numRuns: 1, seed: next(1000) })[0] : [],
        frequency: pick(['immediate', 'daily', 'weekly'] as const),
        active: next(6) !== 0,
      });
    }
  }
  const groups: RefGroup[] = w.groupRules.map((rule, g) => ({
    id: g + 1,
    rule,
    memberIds: rule ? [] : enterprises.filter(() => next(2) === 0).map((e) => e.id),
  }));
  const policy: RefPolicy = {
    departmentId: pick([1, 2]),
    categoryIds: some([1, 2, 3, 4]),
    targetGroupIds: some(groups.map((g) => g.id)),
    rule: w.policyRule,
    urgent: w.urgent,
  };
  const rule = { requireConfirmedEmail: w.requireConfirmedEmail };
  return { policy, categories, enterprises, contacts, subscriptions, groups, rule };
}

type World = ReturnType<typeof buildWorld>;

async function load(t: TestDb, w: World) {
  await t.db.execute(
    sql`truncate service_group_members, service_groups, subscriptions, contacts, enterprises, categories, departments restart identity cascade`,
  );
  await t.db.execute(
    sql`insert into departments (code, name_zh, name_en, sms_signature) values ('d1', '一', 'One', '签名'), ('d2', '二', 'Two', '签名')`,
  );
  for (const c of w.categories) {
    await t.db.execute(
      sql`insert into categories (id, code, parent_id, name_zh, name_en) overriding system value values (${c.id}, ${'c' + c.id}, ${c.parentId}, 'x', 'x')`,
    );
  }
  for (const e of w.enterprises) {
    await t.db.execute(sql`
      insert into enterprises (id, credit_code, name, industry_section, industry_division, district, size, tags) overriding system value
      values (${e.id}, ${'code' + e.id}, 'e', ${e.industrySection}, ${e.industryDivision}, ${e.district}, ${e.size}, ${sql.param(e.tags)}::text[])`);
  }
  for (const c of w.contacts) {
    await t.db.execute(sql`
      insert into contacts (id, enterprise_id, phone, email, wechat_openid, channels, opted_out, suppressed, email_confirmed_at) overriding system value
      values (${c.id}, ${c.enterpriseId}, ${c.phone}, ${c.email}, ${c.wechatOpenid}, ${sql.param(c.channels)}::text[], ${sql.param(c.optedOut)}::text[], ${c.suppressed},
        ${c.emailConfirmedAt ? (c.emailConfirmedAt as Date).toISOString() : null}::timestamptz)`);
  }
  for (const s of w.subscriptions) {
    await t.db.execute(sql`
      insert into subscriptions (id, enterprise_id, category_ids, department_ids, channels, frequency, active) overriding system value
      values (${s.id}, ${s.enterpriseId}, ${sql.param(s.categoryIds)}::bigint[], ${sql.param(s.departmentIds)}::bigint[],
        ${sql.param(s.channels)}::text[], ${s.frequency}, ${s.active})`);
  }
  for (const g of w.groups) {
    await t.db.execute(
      sql`insert into service_groups (id, department_id, name, rule) overriding system value values (${g.id}, 1, 'g', ${g.rule ? JSON.stringify(g.rule) : null}::jsonb)`,
    );
    for (const m of g.memberIds)
      await t.db.execute(sql`insert into service_group_members (group_id, enterprise_id) values (${g.id}, ${m})`);
  }
}

describe('SQL matching equals the reference evaluation', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(() => t.drop());

  it('selects the same contacts, channels, statuses and reasons', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (w) => {
        await load(t, w);
        const target = await loadMatchTarget(
          t.db,
          {
            departmentId: w.policy.departmentId,
            categoryIds: w.policy.categoryIds,
            targetGroupIds: w.policy.targetGroupIds,
            audienceRule: w.policy.rule,
            priority: w.policy.urgent ? 'urgent' : 'normal',
          },
          w.rule,
        );
        const expected = referenceMatch(w).sort((a, b) => a.contactId - b.contactId || a.channel.localeCompare(b.channel));
        // Both forms of the matching SQL: the whole city (joins) and a fan-out chunk (per-enterprise look-ups).
        for (const range of [undefined, { from: 0, to: Number.MAX_SAFE_INTEGER }]) {
          const rows = rowsOf<Record<string, unknown>>(await t.db.execute(matchedDeliveriesSql(target, range)));
          const actual = rows
            .map((r) => ({
              contactId: Number(r.contact_id),
              enterpriseId: Number(r.enterprise_id),
              channel: r.channel,
              status: r.status,
              matchedCategoryIds: (r.category_ids as unknown[]).map(Number),
              matchedGroupIds: (r.group_ids as unknown[]).map(Number),
            }))
            .sort((a, b) => a.contactId - b.contactId || String(a.channel).localeCompare(String(b.channel)));
          expect(actual, range ? 'chunked' : 'whole city').toEqual(expected);
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 60) },
    );
    // 60 worlds take ~7 s alone; a CI machine busy with the other suites can take four times that.
  }, 120_000);
});
