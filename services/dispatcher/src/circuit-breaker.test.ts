import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker';

describe('circuit breaker', () => {
  it('opens after repeated failures, lets one probe through after the cooldown, closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: () => now });
    for (let i = 0; i < 2; i++) b.record(false);
    expect(b.allow()).toBe(true);
    b.record(false);
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
    expect(b.waitMs()).toBe(1000);
    now = 1000;
    expect(b.state).toBe('half-open');
    expect(b.allow()).toBe(true); // the probe
    expect(b.allow()).toBe(false); // only one at a time
    b.record(true);
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
  });

  it('opens again when the probe fails', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 500, now: () => now });
    b.record(false);
    now = 500;
    expect(b.allow()).toBe(true);
    b.record(false);
    expect(b.allow()).toBe(false);
    expect(b.waitMs()).toBe(500);
  });

  it('a success resets the count of failures', () => {
    const b = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 500, now: () => 0 });
    b.record(false);
    b.record(true);
    b.record(false);
    expect(b.state).toBe('closed');
  });

  it('says whether to claim: not while open or while a probe is out; a probe not sent is given back', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 500, now: () => now });
    expect(b.mayClaim()).toBe(true);
    b.record(false);
    expect(b.mayClaim()).toBe(false);
    now = 500;
    expect(b.mayClaim()).toBe(true);
    expect(b.allow()).toBe(true); // the probe
    expect(b.mayClaim()).toBe(false);
    b.release(); // no allowance for it after all
    expect(b.mayClaim()).toBe(true);
    expect(b.allow()).toBe(true);
  });
});
