import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHANNELS } from '../channel';
import { MAGIC_RECIPIENTS, magicOutcome, renderMagicTable } from './magic-recipients';

describe('magicOutcome', () => {
  it.each(MAGIC_RECIPIENTS.filter((r) => r.outcome !== 'accepted'))('$outcome on every channel', (row) => {
    expect(magicOutcome('sms', row.sms)).toBe(row.outcome);
    expect(magicOutcome('email', row.email)).toBe(row.outcome);
    expect(magicOutcome('wechat', row.wechat)).toBe(row.outcome);
  });

  it('sms: the rest of the fictional range and other numbers are accepted', () => {
    for (const to of ['+12025550100', '+12025550107', '+12025550150', '+12025550199', '+8613800138000']) {
      expect(magicOutcome('sms', to)).toBe('accepted');
    }
  });

  it('email: any domain under .invalid, example.com or example.org, case-insensitive', () => {
    expect(magicOutcome('email', 'flaky@example.com')).toBe('flaky');
    expect(magicOutcome('email', 'Opted-Out@Mail.Example.ORG')).toBe('opted-out');
    expect(magicOutcome('email', 'slow@anything.invalid')).toBe('slow');
    expect(magicOutcome('email', 'undelivered@example.org')).toBe('undelivered');
  });

  it('email: magic names on real domains, and other names, are accepted', () => {
    for (const to of ['temporary@gmail.com', 'permanent@example.com.cn', 'someone@example.com', 'temporary', '@example.com']) {
      expect(magicOutcome('email', to)).toBe('accepted');
    }
  });

  it('wechat: only the sandbox- openids are magic', () => {
    expect(magicOutcome('wechat', 'sandbox-permanent')).toBe('permanent');
    expect(magicOutcome('wechat', 'sandbox-accepted')).toBe('accepted');
    expect(magicOutcome('wechat', 'permanent')).toBe('accepted');
    expect(magicOutcome('wechat', 'oAbCdEf123')).toBe('accepted');
  });

  it('an address is magic only on its own channel', () => {
    expect(magicOutcome('email', '+12025550103')).toBe('accepted');
    expect(magicOutcome('sms', 'sandbox-permanent')).toBe('accepted');
  });
});

describe('the magic table', () => {
  it('names each outcome once, and distinct addresses', () => {
    expect(MAGIC_RECIPIENTS.map((r) => r.outcome)).toEqual([
      'accepted',
      'temporary',
      'flaky',
      'permanent',
      'opted-out',
      'slow',
      'undelivered',
    ]);
    for (const channel of CHANNELS) {
      const addresses = MAGIC_RECIPIENTS.map((r) => r[channel]);
      expect(new Set(addresses).size).toBe(addresses.length);
    }
  });

  it('uses only the fictional 555-01xx range for phones', () => {
    for (const r of MAGIC_RECIPIENTS.filter((r) => r.outcome !== 'accepted')) expect(r.sms).toMatch(/^\+120255501\d{2}$/);
  });

  it('is what README.md shows', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(renderMagicTable());
  });
});
