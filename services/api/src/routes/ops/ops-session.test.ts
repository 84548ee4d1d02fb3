import { describe, expect, it } from 'vitest';
import { mayGet } from './ops-session';

describe('mayGet', () => {
  it('answers as the console’s own check: a link shown is a link that opens', () => {
    expect(mayGet('publisher', '/ops/deliveries?policyId=1')).toBe(false);
    expect(mayGet('ops', '/ops/deliveries?policyId=1')).toBe(true);
    expect(mayGet('publisher', '/ops/policies')).toBe(true);
    expect(mayGet('publisher', '/ops/policies/12')).toBe(true);
    expect(mayGet('ops', '/ops/policies/12/amend')).toBe(false);
    expect(mayGet('ops', '/ops/policies/12/revoke')).toBe(false);
    expect(mayGet('publisher', '/ops/policies/12/revoke')).toBe(true);
    expect(mayGet('ops', '/ops/compose')).toBe(false);
    expect(mayGet('admin', '/ops/compose')).toBe(true);
  });
});
