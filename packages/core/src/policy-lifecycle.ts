// A policy's life in one table: which actions each status allows and the status they lead to.
// The API's lifecycle service checks a publisher's action here before it writes anything, and
// answers a refusal with the code and message given here; the expiry job takes its statuses
// from here.
//
//   publish    a new policy: scheduled when publishAt is ahead, else published (statusOnPublish);
//              a scheduled one becomes published when its push starts
//   amend      a published policy becomes a new version; a scheduled one is edited in place
//   push-again the current version again: only what is new is sent
//   revoke     a published policy is withdrawn: unsent deliveries are cancelled
//   cancel     a scheduled policy is withdrawn before its time
//   expire     validUntil has passed
export const POLICY_STATUSES = ['scheduled', 'published', 'revoked', 'expired', 'cancelled'] as const;
export type PolicyStatus = (typeof POLICY_STATUSES)[number];

/** What a publisher asks of an existing policy. */
export const POLICY_ACTIONS = ['amend', 'push-again', 'revoke', 'cancel'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** The actions, by whom or what takes them, with the status each leads to from each status it is allowed in. */
export const POLICY_TRANSITIONS = {
  publish: { scheduled: 'published' },
  amend: { scheduled: 'scheduled', published: 'published' },
  'push-again': { scheduled: 'scheduled', published: 'published' },
  revoke: { published: 'revoked' },
  cancel: { scheduled: 'cancelled' },
  expire: { scheduled: 'expired', published: 'expired' },
} as const satisfies Record<PolicyAction | 'publish' | 'expire', Partial<Record<PolicyStatus, PolicyStatus>>>;

/** Why an action is refused, as the API answers it (409), for a policy in `status`. */
const REFUSALS: Record<PolicyAction, { code: string; message: (status: string) => string }> = {
  amend: { code: 'policy_not_amendable', message: (s) => `a ${s} policy cannot be amended` },
  'push-again': { code: 'policy_not_pushable', message: (s) => `a ${s} policy cannot be pushed` },
  revoke: { code: 'policy_not_revocable', message: (s) => `a ${s} policy cannot be revoked` },
  cancel: { code: 'policy_not_scheduled', message: (s) => `a ${s} policy cannot be cancelled; revoke it instead` },
};

export type LifecycleStep = { allowed: true; to: PolicyStatus } | { allowed: false; code: string; message: string };

/** Whether a publisher may take `action` on a policy in `status`: the status it leads to, or why not. */
export function lifecycleStep(status: string, action: PolicyAction): LifecycleStep {
  const to = (POLICY_TRANSITIONS[action] as Partial<Record<string, PolicyStatus>>)[status];
  if (to) return { allowed: true, to };
  const refusal = REFUSALS[action];
  return { allowed: false, code: refusal.code, message: refusal.message(status) };
}

/** The statuses `action` is allowed in. */
export function statusesAllowing(action: keyof typeof POLICY_TRANSITIONS): PolicyStatus[] {
  return Object.keys(POLICY_TRANSITIONS[action]) as PolicyStatus[];
}

/** A new policy's status: scheduled when it is to be published later. */
export function statusOnPublish(publishAt: Date, now: Date): 'scheduled' | 'published' {
  return publishAt > now ? 'scheduled' : 'published';
}
