import { describe, expect, it } from 'vitest';
import { isReachable, reachableChannels, type ReachableContact, whyUnreachable } from './reachable';

const contact = (over: Partial<ReachableContact> = {}): ReachableContact => ({
  phone: '+8613812345678',
  email: 'a@example.com',
  wechatOpenid: 'oOpenid123456',
  optedOut: [],
  suppressed: false,
  emailConfirmedAt: null,
  ...over,
});
const loose = { requireConfirmedEmail: false };
const strict = { requireConfirmedEmail: true };

describe('reachableChannels', () => {
  it('keeps the order, drops channels without an address or opted out, names a channel once', () => {
    const c = contact({ phone: null, optedOut: ['email'] });
    expect(reachableChannels(c, ['email', 'sms', 'wechat'], loose)).toEqual(['wechat']);
    expect(reachableChannels(contact(), ['email', 'wechat'], loose)).toEqual(['email', 'wechat']);
    expect(reachableChannels(contact(), ['sms', 'sms'], loose)).toEqual(['sms']);
  });

  it('returns nothing for a suppressed contact', () => {
    expect(reachableChannels(contact({ suppressed: true }), ['sms', 'email', 'wechat'], loose)).toEqual([]);
  });

  it('leaves out an unconfirmed email only where the deployment requires confirmation', () => {
    expect(reachableChannels(contact(), ['email', 'sms'], strict)).toEqual(['sms']);
    expect(reachableChannels(contact(), ['email', 'sms'], loose)).toEqual(['email', 'sms']);
    expect(reachableChannels(contact({ emailConfirmedAt: new Date() }), ['email'], strict)).toEqual(['email']);
  });
});

describe('whyUnreachable', () => {
  it('names the first failing check: address, then opt-out, then confirmation', () => {
    expect(whyUnreachable(contact({ email: null, suppressed: true }), 'email', strict)).toBe('no_address');
    expect(whyUnreachable(contact({ optedOut: ['email'] }), 'email', strict)).toBe('opted_out');
    expect(whyUnreachable(contact({ suppressed: true }), 'sms', strict)).toBe('opted_out');
    expect(whyUnreachable(contact(), 'email', strict)).toBe('email_unconfirmed');
    expect(whyUnreachable(contact(), 'email', loose)).toBeNull();
    expect(whyUnreachable(contact(), 'fax', loose)).toBe('no_address');
    expect(isReachable(contact(), 'wechat', strict)).toBe(true);
  });
});
