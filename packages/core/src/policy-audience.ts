// What decides a policy's audience (ARCHITECTURE.md "Matching"): the columns that loadMatchTarget
// (packages/db) turns into a match target. A policy about to be inserted may still lack some of
// them; policyAudience fills them in as the policies table's defaults would.
import type { AudienceRule } from './rules';

/** The columns of a policy row that decide who it goes to. */
export interface PolicyAudience {
  departmentId: number;
  categoryIds: number[];
  targetGroupIds: number[];
  audienceRule: AudienceRule | null;
  priority: string;
}

/** A policy row, or the values of one about to be inserted (absent columns take their defaults). */
export interface PolicyAudienceValues {
  departmentId: number;
  categoryIds?: number[];
  targetGroupIds?: number[];
  audienceRule?: AudienceRule | null;
  priority?: string;
}

/** The audience columns of a policy, with the defaults of the policies table for absent ones. */
export function policyAudience(policy: PolicyAudienceValues): PolicyAudience {
  return {
    departmentId: policy.departmentId,
    categoryIds: policy.categoryIds ?? [],
    targetGroupIds: policy.targetGroupIds ?? [],
    audienceRule: policy.audienceRule ?? null,
    priority: policy.priority ?? 'normal',
  };
}
