// The order of a send's checks (issue 13): an open circuit refuses the send before any of the
// provider's allowance is taken, and a probe that gets no allowance is given back.
import type { ChannelAdapter, OutboundMessage } from '@policy-push/channels';
import { parseConfig } from '@policy-push/core';
import type { ClaimedDelivery, SendContext } from '@policy-push/db';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker';
import { RateLimiter } from './rate-limiter';
import { sendOne } from './send-one';

const now = Date.parse('2026-11-27T12:00:00+08:00');
const sms: ClaimedDelivery = {
  id: 1,
  policyId: 7,
  policyVersion: 1,
  contactId: 3,
  channel: 'sms',
  kind: 'policy',
  attempts: 1,
  priority: 1,
};
const ctx: SendContext = {
  contacts: new Map([
    [
      3,
      {
        phone: '+12025550100',
        email: null,
        wechatOpenid: null,
        locale: 'zh-CN',
        optedOut: [],
        suppressed: false,
        emailConfirmedAt: null,
        quietHours: null,
      },
    ],
  ]),
  policies: new Map([
    [
      7,
      {
        id: 7,
        version: 1,
        status: 'published',
        docNumber: '穗测〔2026〕1号',
        title: '测试政策',
        summary: '测试摘要',
        titleEn: null,
        summaryEn: null,
        url: 'https://policy.example.gov.cn/test',
        priority: 'normal',
        publishAt: new Date(now),
        interpretationUrls: [],
        validUntil: null,
        previous: null,
        department: { nameZh: '测试局', nameEn: 'Test', smsSignature: '广州测试', wechatTemplate: null },
      },
    ],
  ]),
  digests: new Map(),
  engagedReminders: new Set(),
};

function setup(limit: number) {
  const taken: number[] = [];
  const limiter = new RateLimiter(
    {
      take: async (_bucket, _start, wanted, lim) => {
        const granted = Math.min(wanted, lim - taken.reduce((a, b) => a + b, 0));
        taken.push(granted);
        return granted;
      },
    },
    { sms: [{ bucket: 'sms', limit, windowMs: 1000, whenSpent: 'wait' }] },
    { now: () => now, sleep: async () => {} },
  );
  const calls: OutboundMessage[] = [];
  const adapter = (channel: 'sms' | 'wechat' | 'email'): ChannelAdapter => ({
    channel,
    provider: 'test',
    send: async (m) => (calls.push(m), { outcome: 'accepted', providerMessageId: `p-${m.deliveryId}` }),
  });
  // The breakers' own clock, to end a cooldown.
  const breakerClock = { t: now };
  const breaker = () => new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, now: () => breakerClock.t });
  const deps = {
    adapters: { sms: adapter('sms'), wechat: adapter('wechat'), email: adapter('email') },
    breakers: { sms: breaker(), wechat: breaker(), email: breaker() },
    limiter,
    settings: parseConfig({ QUIET_HOURS: '00:00-00:00' }).dispatcher,
    publicBaseUrl: 'https://push.example.gov.cn',
    smsSegmentBudget: 3,
    signingSecret: 'test-signing-secret-0123456789abcdef',
    now: () => now,
  };
  return { deps, taken, calls, breakerClock };
}

describe('sendOne', () => {
  it('an open circuit refuses the send before any allowance is taken', async () => {
    const { deps, taken, calls } = setup(10);
    deps.breakers.sms.record(false); // open
    const x = await sendOne(sms, ctx, deps, { allowanceWaitUntil: now });
    expect([x.outcome.status, x.outcome.errorCode]).toEqual(['pending', 'circuit_open']);
    expect(taken).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('with the circuit closed the allowance is taken and the message sent', async () => {
    const { deps, taken, calls } = setup(10);
    const x = await sendOne(sms, ctx, deps, { allowanceWaitUntil: now });
    expect(x.outcome.status).toBe('sent');
    expect(taken.length).toBeGreaterThan(0);
    expect(calls).toHaveLength(1);
  });

  it('a half-open probe that gets no allowance is given back for the next send', async () => {
    const { deps, calls, breakerClock } = setup(0);
    const b = deps.breakers.sms;
    b.record(false);
    breakerClock.t += 1000; // the cooldown is over: half-open
    const x = await sendOne(sms, ctx, deps, { allowanceWaitUntil: now });
    expect([x.outcome.status, x.outcome.errorCode]).toEqual(['pending', 'allowance_spent']);
    expect(calls).toEqual([]);
    expect(b.mayClaim()).toBe(true);
  });
});
