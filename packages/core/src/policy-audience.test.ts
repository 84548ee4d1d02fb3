import { describe, expect, it } from 'vitest';
import { policyAudience } from './policy-audience';

describe('policyAudience', () => {
  it('gives absent columns the defaults of the policies table', () => {
    expect(policyAudience({ departmentId: 3 })).toEqual({
      departmentId: 3,
      categoryIds: [],
      targetGroupIds: [],
      audienceRule: null,
      priority: 'normal',
    });
  });

  it('keeps the columns a policy has, and nothing else', () => {
    const rule = { districts: { any: ['310101'] } };
    const policy = { departmentId: 3, categoryIds: [5, 6], targetGroupIds: [7], audienceRule: rule, priority: 'urgent', title: 'x' };
    expect(policyAudience(policy)).toEqual({
      departmentId: 3,
      categoryIds: [5, 6],
      targetGroupIds: [7],
      audienceRule: rule,
      priority: 'urgent',
    });
  });
});
