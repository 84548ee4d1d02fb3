import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config';

describe('parseConfig', () => {
  it('has working defaults for the embedded mode', () => {
    const c = parseConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      databaseUrl: undefined,
      dataDir: './data',
      publicBaseUrl: 'http://127.0.0.1:3000',
    });
    expect(c.dispatcher.maxAttempts).toEqual({ wechat: 6, sms: 6, email: 6 });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['DEMO_DATA', 'maybe'],
    ['ADMIN_API_KEY', 'short'],
    ['DISPATCH_BATCH_SIZE', '0'],
    ['PUBLIC_BASE_URL', 'ftp://example.com'],
    ['STALLED_PUSH_MINUTES', '0'],
    ['STALLED_PUSH_MINUTES', 'ten'],
    ['PROVIDER_FAILURE_RATE', '0'],
    ['PROVIDER_FAILURE_RATE', '1'],
    ['PROVIDER_FAILURE_RATE', '20%'],
    ['PROVIDER_FAILURE_RATE', '-0.1'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', '11'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.1, nginx'],
    ['TRUST_PROXY', '10.0.0.1/8/8'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it('reads the health thresholds: a stalled push after 10 minutes, an unhealthy provider past 20% failures', () => {
    expect(parseConfig({}).dispatcher).toMatchObject({ stalledPushMinutes: 10, providerFailureRate: 0.2 });
    expect(parseConfig({ STALLED_PUSH_MINUTES: '3', PROVIDER_FAILURE_RATE: '0.05' }).dispatcher).toMatchObject({
      stalledPushMinutes: 3,
      providerFailureRate: 0.05,
    });
    expect(parseConfig({ PROVIDER_FAILURE_RATE: '.5' }).dispatcher.providerFailureRate).toBe(0.5);
  });

  it('reads per-channel attempt limits over the common one', () => {
    expect(parseConfig({ MAX_ATTEMPTS: '3', MAX_ATTEMPTS_SMS: '8' }).dispatcher.maxAttempts).toEqual({ wechat: 3, sms: 8, email: 3 });
  });

  it('trusts no proxy by default; TRUST_PROXY names a hop count or the proxies’ addresses', () => {
    expect(parseConfig({}).trustProxy).toBe(false);
    expect(parseConfig({ TRUST_PROXY: '' }).trustProxy).toBe(false);
    expect(parseConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(parseConfig({ TRUST_PROXY: '2' }).trustProxy).toEqual({ hops: 2 });
    expect(parseConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8,uniquelocal' }).trustProxy).toEqual({
      addresses: ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8', 'uniquelocal'],
    });
  });
});
