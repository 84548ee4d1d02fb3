import { describe, it, expect } from 'vitest';
import {
  expandCategories,
  referenceMatch,
  type RefCategory,
  type RefContact,
  type RefEnterprise,
  type RefGroup,
  type RefMatchInput,
  type RefPolicy,
  type RefSubscription,
} from './matching';

// 1 business-environment ─ 2 lifecycle ─ 3 one-thing; 4 employment (a root of its own).
const categories: RefCategory[] = [
  { id: 1, parentId: null },
  { id: 2, parentId: 1 },
  { id: 3, parentId: 2 },
  { id: 4, parentId: null },
];

const enterprise = (id: number, over: Partial<RefEnterprise> = {}): RefEnterprise => ({
  id,
  industrySection: 'C',
  industryDivision: '27',
  district: '440112',
  size: 'small',
  tags: [],
  ...over,
});

const contact = (id: number, enterpriseId: number, over: Partial<RefContact> = {}): RefContact => ({
  id,
  enterpriseId,
  phone: '+61491570006',
  email: `c${id}@example.com`,
  wechatOpenid: `o${id}`,
  channels: ['wechat', 'sms', 'email'],
  optedOut: [],
  suppressed: false,
  ...over,
});

const sub = (id: number, enterpriseId: number, over: Partial<RefSubscription> = {}): RefSubscription => ({
  id,
  enterpriseId,
  categoryIds: [1],
  departmentIds: [],
  channels: [],
  frequency: 'immediate',
  active: true,
  ...over,
});

const policy = (over: Partial<RefPolicy> = {}): RefPolicy => ({
  departmentId: 7,
  categoryIds: [3],
  targetGroupIds: [],
  rule: null,
  urgent: false,
  ...over,
});

function match(over: Partial<RefMatchInput>) {
  return referenceMatch({
    policy: policy(),
    categories,
    enterprises: [enterprise(10)],
    contacts: [contact(100, 10)],
    subscriptions: [sub(1, 10)],
    groups: [],
    ...over,
  });
}
const summary = (over: Partial<RefMatchInput>) => match(over).map((d) => `${d.contactId}:${d.channel}:${d.status}`);

describe('expandCategories', () => {
  it('adds every ancestor and sorts', () => {
    expect(expandCategories([3], categories)).toEqual([1, 2, 3]);
    expect(expandCategories([4, 2], categories)).toEqual([1, 2, 4]);
    expect(expandCategories([], categories)).toEqual([]);
  });

  it('keeps unknown ids and survives a cycle', () => {
    expect(expandCategories([99], categories)).toEqual([99]);
    expect(
      expandCategories(
        [5],
        [
          { id: 5, parentId: 6 },
          { id: 6, parentId: 5 },
        ],
      ),
    ).toEqual([5, 6]);
  });
});

describe('referenceMatch: subscriptions', () => {
  it('covers a child category through a subscription to its parent', () => {
    expect(match({})).toEqual([
      {
        contactId: 100,
        enterpriseId: 10,
        channel: 'wechat',
        status: 'pending',
        matchedCategoryIds: [1],
        matchedGroupIds: [],
      },
    ]);
  });

  it('does not cover a parent category through a subscription to a child', () => {
    expect(match({ policy: policy({ categoryIds: [1] }), subscriptions: [sub(1, 10, { categoryIds: [3] })] })).toEqual([]);
  });

  it('covers by department, with no matched categories', () => {
    const subscriptions = [sub(1, 10, { categoryIds: [4], departmentIds: [7] })];
    expect(match({ subscriptions })).toMatchObject([{ contactId: 100, matchedCategoryIds: [] }]);
    expect(match({ subscriptions: [sub(1, 10, { categoryIds: [4], departmentIds: [8] })] })).toEqual([]);
  });

  it('ignores inactive subscriptions and other enterprises’ subscriptions', () => {
    expect(match({ subscriptions: [sub(1, 10, { active: false })] })).toEqual([]);
    expect(match({ subscriptions: [sub(1, 11)] })).toEqual([]);
  });

  it('keeps only the subscribed categories that the policy’s expanded categories contain, sorted', () => {
    const p = policy({ categoryIds: [3, 4] });
    const subscriptions = [sub(1, 10, { categoryIds: [4, 3, 2, 99] })];
    expect(match({ policy: p, subscriptions })[0].matchedCategoryIds).toEqual([2, 3, 4]);
  });

  it('uses the best frequency among covering subscriptions, then the lowest id', () => {
    const subscriptions = [
      sub(1, 10, { frequency: 'weekly', categoryIds: [1] }),
      sub(3, 10, { frequency: 'daily', categoryIds: [3] }),
      sub(2, 10, { frequency: 'daily', categoryIds: [2] }),
      sub(4, 10, { frequency: 'immediate', active: false }),
    ];
    expect(match({ subscriptions })).toMatchObject([{ status: 'held', matchedCategoryIds: [2] }]);
  });
});

describe('referenceMatch: audience', () => {
  const enterprises = [enterprise(10), enterprise(11, { industrySection: 'M', industryDivision: '73' }), enterprise(12, { size: 'large' })];
  const contacts = [contact(100, 10), contact(110, 11), contact(120, 12)];
  const subscriptions = [sub(1, 10), sub(2, 11), sub(3, 12)];
  const groups: RefGroup[] = [
    { id: 5, rule: null, memberIds: [11, 12] },
    { id: 6, rule: { sizes: { any: ['large'] } }, memberIds: [10] }, // a rule group ignores memberIds
    { id: 9, rule: null, memberIds: [10] }, // not targeted
  ];
  const who = (p: Partial<RefPolicy>) =>
    referenceMatch({ policy: policy(p), categories, enterprises, contacts, subscriptions, groups }).map((d) => [
      d.enterpriseId,
      d.matchedGroupIds,
    ]);

  it('reaches every subscriber when the policy has no groups and no rule', () => {
    expect(who({})).toEqual([
      [10, []],
      [11, []],
      [12, []],
    ]);
  });

  it('reaches static members and rule members of target groups, naming the groups', () => {
    expect(who({ targetGroupIds: [6, 5] })).toEqual([
      [11, [5]],
      [12, [5, 6]],
    ]);
    expect(who({ targetGroupIds: [6] })).toEqual([[12, [6]]]);
  });

  it('reaches matches of the inline rule with no group ids', () => {
    expect(who({ rule: { industries: { any: ['M'] } } })).toEqual([[11, []]]);
    expect(who({ rule: {} })).toEqual([
      [10, []],
      [11, []],
      [12, []],
    ]);
  });

  it('ORs target groups with the inline rule', () => {
    expect(who({ targetGroupIds: [6], rule: { industries: { any: ['73'] } } })).toEqual([
      [11, []],
      [12, [6]],
    ]);
  });

  it('ignores target group ids that do not exist', () => {
    expect(who({ targetGroupIds: [404] })).toEqual([]);
  });
});

describe('referenceMatch: channels and status', () => {
  it('uses the subscription’s channels before the contact’s own order', () => {
    expect(summary({ subscriptions: [sub(1, 10, { channels: ['email', 'sms'] })] })).toEqual(['100:email:pending']);
    expect(summary({ contacts: [contact(100, 10, { channels: ['sms', 'wechat'] })] })).toEqual(['100:sms:pending']);
  });

  it('falls to the next usable channel when the first has no address or is opted out', () => {
    const contacts = [contact(100, 10, { wechatOpenid: null }), contact(101, 10, { optedOut: ['wechat', 'sms'] })];
    expect(summary({ contacts })).toEqual(['100:sms:pending', '101:email:pending']);
  });

  it('sends an urgent policy on every usable channel, pending even for digest subscribers', () => {
    const contacts = [contact(100, 10, { phone: null })];
    const subscriptions = [sub(1, 10, { frequency: 'weekly' })];
    expect(summary({ policy: policy({ urgent: true }), contacts, subscriptions })).toEqual(['100:wechat:pending', '100:email:pending']);
  });

  it('gives nothing to a contact with no usable channel or suppressed', () => {
    const contacts = [
      contact(100, 10, { wechatOpenid: null, phone: null, email: null }),
      contact(101, 10, { suppressed: true }),
      contact(102, 10, { channels: [] }),
    ];
    expect(match({ contacts })).toEqual([]);
    expect(match({ contacts, policy: policy({ urgent: true }) })).toEqual([]);
  });

  it('holds deliveries for daily and weekly subscribers', () => {
    expect(summary({ subscriptions: [sub(1, 10, { frequency: 'daily' })] })).toEqual(['100:wechat:held']);
    expect(summary({ subscriptions: [sub(1, 10, { frequency: 'weekly' })] })).toEqual(['100:wechat:held']);
  });

  it('sorts by contact id, then by position in the channel order', () => {
    const contacts = [contact(300, 10), contact(100, 10, { channels: ['email', 'wechat'] }), contact(200, 99)];
    expect(summary({ contacts, policy: policy({ urgent: true }) })).toEqual([
      '100:email:pending',
      '100:wechat:pending',
      '300:wechat:pending',
      '300:sms:pending',
      '300:email:pending',
    ]);
  });
});
