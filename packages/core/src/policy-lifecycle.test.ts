import { describe, expect, it } from 'vitest';
import { lifecycleStep, POLICY_ACTIONS, POLICY_STATUSES, statusesAllowing, statusOnPublish } from './policy-lifecycle';

// Every status × every publisher action, written out: the status it leads to, or the refusal code.
const EXPECTED = {
  scheduled: { amend: 'scheduled', 'push-again': 'scheduled', revoke: 'policy_not_revocable', cancel: 'cancelled' },
  published: { amend: 'published', 'push-again': 'published', revoke: 'revoked', cancel: 'policy_not_scheduled' },
  revoked: {
    amend: 'policy_not_amendable',
    'push-again': 'policy_not_pushable',
    revoke: 'policy_not_revocable',
    cancel: 'policy_not_scheduled',
  },
  expired: {
    amend: 'policy_not_amendable',
    'push-again': 'policy_not_pushable',
    revoke: 'policy_not_revocable',
    cancel: 'policy_not_scheduled',
  },
  cancelled: {
    amend: 'policy_not_amendable',
    'push-again': 'policy_not_pushable',
    revoke: 'policy_not_revocable',
    cancel: 'policy_not_scheduled',
  },
} as const;

describe('lifecycleStep', () => {
  it('answers every status × action as the table says', () => {
    const answered = Object.fromEntries(
      POLICY_STATUSES.map((status) => [
        status,
        Object.fromEntries(
          POLICY_ACTIONS.map((action) => {
            const step = lifecycleStep(status, action);
            return [action, step.allowed ? step.to : step.code];
          }),
        ),
      ]),
    );
    expect(answered).toEqual(EXPECTED);
  });

  it('refuses with the messages the API has always given', () => {
    const message = (status: string, action: (typeof POLICY_ACTIONS)[number]) => {
      const step = lifecycleStep(status, action);
      return step.allowed ? undefined : step.message;
    };
    expect(message('revoked', 'amend')).toBe('a revoked policy cannot be amended');
    expect(message('expired', 'push-again')).toBe('a expired policy cannot be pushed');
    expect(message('scheduled', 'revoke')).toBe('a scheduled policy cannot be revoked');
    expect(message('published', 'cancel')).toBe('a published policy cannot be cancelled; revoke it instead');
  });

  it('refuses a status it does not know', () => {
    expect(lifecycleStep('draft', 'amend')).toEqual({
      allowed: false,
      code: 'policy_not_amendable',
      message: 'a draft policy cannot be amended',
    });
  });
});

describe('what the system does', () => {
  it('publishes a scheduled policy, and expires scheduled and published ones', () => {
    expect(statusesAllowing('publish')).toEqual(['scheduled']);
    expect(statusesAllowing('expire')).toEqual(['scheduled', 'published']);
  });

  it('a new policy is scheduled only when publishAt is ahead', () => {
    const now = new Date('2026-12-07T08:00:00Z');
    expect(statusOnPublish(new Date('2026-12-07T08:00:01Z'), now)).toBe('scheduled');
    expect(statusOnPublish(now, now)).toBe('published');
    expect(statusOnPublish(new Date('2026-12-07T07:59:59Z'), now)).toBe('published');
  });
});
