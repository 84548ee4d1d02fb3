// The in-memory reference for who gets a policy (ARCHITECTURE.md "Matching" and "Channel
// choice"). Production matching is set-based SQL in packages/db; a property test checks that
// SQL against this, so this file favours being obviously right over being fast.
import { reachableChannels, type ReachabilityRule, type ReachableContact } from './reachable';
import { subjectMatchesRule, type AudienceRule, type RuleSubject } from './rules';
import type { Channel } from './channels';

export type Frequency = 'immediate' | 'daily' | 'weekly';

export interface RefCategory {
  id: number;
  parentId: number | null;
}
export interface RefEnterprise extends RuleSubject {
  id: number;
}
export interface RefContact extends ReachableContact {
  id: number;
  enterpriseId: number;
  channels: Channel[];
  optedOut: Channel[];
}
export interface RefSubscription {
  id: number;
  enterpriseId: number;
  categoryIds: number[];
  departmentIds: number[];
  channels: Channel[];
  frequency: Frequency;
  active: boolean;
}
/** `rule` null means a static member list. */
export interface RefGroup {
  id: number;
  rule: AudienceRule | null;
  memberIds: number[];
}
export interface RefPolicy {
  departmentId: number;
  categoryIds: number[];
  targetGroupIds: number[];
  rule: AudienceRule | null;
  urgent: boolean;
}
export interface RefDelivery {
  contactId: number;
  enterpriseId: number;
  channel: Channel;
  status: 'pending' | 'held';
  matchedCategoryIds: number[];
  matchedGroupIds: number[];
}
export interface RefMatchInput {
  policy: RefPolicy;
  categories: RefCategory[];
  enterprises: RefEnterprise[];
  contacts: RefContact[];
  subscriptions: RefSubscription[];
  groups: RefGroup[];
  /** The deployment's reachability setting; confirmed email not required when absent. */
  rule?: ReachabilityRule;
}

const FREQUENCY_RANK: Record<Frequency, number> = { immediate: 0, daily: 1, weekly: 2 };

/** The ids plus all their ancestors, sorted: a subscription to a parent covers its children. */
export function expandCategories(ids: number[], categories: RefCategory[]): number[] {
  const parentOf = new Map(categories.map((c) => [c.id, c.parentId]));
  const seen = new Set<number>();
  for (const id of ids) {
    // `seen` also stops a (corrupt) cycle from looping forever.
    for (let cur: number | null | undefined = id; cur != null && !seen.has(cur); cur = parentOf.get(cur)) {
      seen.add(cur);
    }
  }
  return sortedIds(seen);
}

export function referenceMatch(input: RefMatchInput): RefDelivery[] {
  const { policy } = input;
  const expanded = expandCategories(policy.categoryIds, input.categories);
  const enterprises = new Map(input.enterprises.map((e) => [e.id, e]));
  const deliveries: RefDelivery[] = [];
  for (const contact of [...input.contacts].sort((a, b) => a.id - b.id)) {
    const enterprise = enterprises.get(contact.enterpriseId);
    if (!enterprise) continue;
    const sub = bestSubscription(input.subscriptions, enterprise.id, policy, expanded);
    if (!sub) continue;
    const audience = audienceMatch(policy, input.groups, enterprise);
    if (!audience.in) continue;
    const order = sub.channels.length > 0 ? sub.channels : contact.channels;
    const usable = reachableChannels(contact, order, input.rule ?? { requireConfirmedEmail: false });
    for (const channel of policy.urgent ? usable : usable.slice(0, 1)) {
      deliveries.push({
        contactId: contact.id,
        enterpriseId: enterprise.id,
        channel,
        status: policy.urgent || sub.frequency === 'immediate' ? 'pending' : 'held',
        matchedCategoryIds: sortedIds(sub.categoryIds.filter((id) => expanded.includes(id))),
        matchedGroupIds: audience.groupIds,
      });
    }
  }
  return deliveries;
}

function covers(sub: RefSubscription, policy: RefPolicy, expanded: number[]): boolean {
  if (!sub.active) return false;
  return sub.categoryIds.some((id) => expanded.includes(id)) || sub.departmentIds.includes(policy.departmentId);
}

/** The covering subscription whose frequency wins (immediate first), then the lowest id. */
function bestSubscription(
  subs: RefSubscription[],
  enterpriseId: number,
  policy: RefPolicy,
  expanded: number[],
): RefSubscription | undefined {
  return subs
    .filter((s) => s.enterpriseId === enterpriseId && covers(s, policy, expanded))
    .sort((a, b) => FREQUENCY_RANK[a.frequency] - FREQUENCY_RANK[b.frequency] || a.id - b.id)[0];
}

function audienceMatch(policy: RefPolicy, groups: RefGroup[], e: RefEnterprise): { in: boolean; groupIds: number[] } {
  if (policy.targetGroupIds.length === 0 && policy.rule === null) return { in: true, groupIds: [] };
  const groupIds = groups.filter((g) => policy.targetGroupIds.includes(g.id) && isInGroup(g, e)).map((g) => g.id);
  const byRule = policy.rule !== null && subjectMatchesRule(policy.rule, e);
  return { in: groupIds.length > 0 || byRule, groupIds: sortedIds(groupIds) };
}

function isInGroup(group: RefGroup, e: RefEnterprise): boolean {
  return group.rule === null ? group.memberIds.includes(e.id) : subjectMatchesRule(group.rule, e);
}

function sortedIds(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}
