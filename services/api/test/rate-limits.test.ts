// Rate limits (README "Limits"): per verified API key on /v1, failed sign-ins per address, stricter
// per address on the signed-link pages and the webhooks; a 429 is our JSON error with Retry-After.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FailedAttempts } from '../src/plugins/rate-limits';
import { createApiKey } from '../src/services/api-keys';
import { buildTestApp, opsSignIn, type TestApp } from './helpers';

let h: TestApp;
let other: { authorization: string };
let otherKey: string;

beforeAll(async () => {
  h = await buildTestApp({
    RATE_LIMIT_PER_KEY: '5',
    RATE_LIMIT_FAILED_SIGN_INS_PER_IP: '4',
    RATE_LIMIT_LINKS_PER_IP: '3',
    RATE_LIMIT_WEBHOOKS_PER_IP: '4',
  });
  otherKey = (await createApiKey(h.t.db, { name: 'other', role: 'admin' })).key;
  other = { authorization: `Bearer ${otherKey}` };
});
afterAll(() => h.close());

const get = (url: string, headers: Record<string, string> = {}, remoteAddress = '198.51.100.7') =>
  h.app.inject({ method: 'GET', url, headers, remoteAddress });

function expectRateLimited(res: Awaited<ReturnType<typeof get>>) {
  expect(res.statusCode, res.body).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json().error.code).toBe('rate_limited');
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('per API key', () => {
  it('the sixth request of a key in a minute is a 429 with Retry-After; another key is unaffected', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await get('/v1/categories', h.auth);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['x-ratelimit-remaining']).toBe(String(4 - i));
    }
    expectRateLimited(await get('/v1/categories', h.auth));
    // Same address, another key: its own budget.
    expect((await get('/v1/categories', other)).statusCode).toBe(200);
  });

  it('counts a key by its id once verified: wrong keys carrying its public prefix do not spend its allowance', async () => {
    const key = (await createApiKey(h.t.db, { name: 'target', role: 'admin' })).key;
    const forged = { authorization: `Bearer ${key.slice(0, 13)}${'A'.repeat(30)}` };
    // Six wrong keys with its prefix, from three addresses (each within its failed attempts).
    for (const ip of ['192.0.2.11', '192.0.2.12', '192.0.2.13'])
      for (let i = 0; i < 2; i++) expect((await get('/v1/categories', forged, ip)).statusCode).toBe(401);
    for (let i = 0; i < 5; i++) expect((await get('/v1/categories', { authorization: `Bearer ${key}` })).statusCode).toBe(200);
  });
});

describe('failed sign-ins, per address', () => {
  it('an address that failed too often is refused before its key is looked up, with a key or without', async () => {
    const ip = '203.0.113.9';
    const wrong = (i: number) => ({ authorization: `Bearer pp_wrong${i}${'B'.repeat(30)}` });
    for (let i = 0; i < 2; i++) expect((await get('/v1/categories', {}, ip)).statusCode).toBe(401);
    for (let i = 0; i < 2; i++) expect((await get('/v1/categories', wrong(i), ip)).statusCode).toBe(401);
    const lookups = vi.spyOn(h.app.verifiedKeys, 'authenticate');
    try {
      expectRateLimited(await get('/v1/categories', wrong(9), ip));
      expectRateLimited(await get('/v1/categories', {}, ip));
      // Even a right key waits: the address is refused before any key is read.
      expectRateLimited(await get('/v1/categories', other, ip));
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
    // Another address is not affected.
    expect((await get('/v1/categories', {}, '203.0.113.10')).statusCode).toBe(401);
    expect((await get('/v1/categories', other, '203.0.113.10')).statusCode).toBe(200);
  });

  it('the wait starts at a minute past the allowance and doubles with each further failure, up to 15 minutes', () => {
    const f = new FailedAttempts(2);
    const t0 = 1_000_000;
    f.failed('a', t0);
    expect(f.waitMs('a', t0)).toBe(0);
    f.failed('a', t0);
    expect(f.waitMs('a', t0)).toBe(60_000);
    const waits = [];
    for (let i = 1; i <= 6; i++) {
      const at = t0 + i * 60_000;
      f.failed('a', at);
      waits.push(f.waitMs('a', at) / 60_000);
    }
    expect(waits).toEqual([2, 4, 8, 15, 15, 15]);
    expect(f.waitMs('b', t0)).toBe(0);
    // Forgotten after 15 minutes without a failure: the allowance again.
    const later = t0 + 6 * 60_000 + 15 * 60_000 + 1;
    f.failed('a', later);
    expect(f.waitMs('a', later)).toBe(0);
  });

  it('/ops/login: wrong keys from an address count the same, then it must wait', async () => {
    const at = (remoteAddress: string, key: string) => opsSignIn(h, key, {}, remoteAddress);
    for (let i = 0; i < 4; i++) expect((await at('198.51.100.80', `pp_wrong${i}${'C'.repeat(30)}`)).res.statusCode).toBe(401);
    const refused = await at('198.51.100.80', otherKey);
    expect(refused.res.statusCode).toBe(429);
    expect(refused.res.body).toContain('data-code="rate_limited"');
    expect(Number(refused.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.session).toBeUndefined();
    expect((await at('198.51.100.81', otherKey)).res.statusCode).toBe(303);
  });
});

describe('per address, on pages and webhooks', () => {
  it('the signed-link pages share one stricter budget per address', async () => {
    const ip = '192.0.2.50';
    for (const url of ['/u/junk', '/p/junk', '/c/junk']) expect((await get(url, {}, ip)).statusCode).toBe(400);
    expectRateLimited(await get('/r/junk', {}, ip));
    // Another address still gets its page.
    expect((await get('/u/junk', {}, '192.0.2.51')).statusCode).toBe(400);
  });

  it('webhooks have their own budget per address', async () => {
    const ip = '192.0.2.60';
    // Twilio is not configured here: 404, but counted all the same.
    const post = () =>
      h.app.inject({
        method: 'POST',
        url: '/webhooks/twilio/status',
        remoteAddress: ip,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'MessageSid=x',
      });
    for (let i = 0; i < 4; i++) expect((await post()).statusCode).toBe(404);
    expectRateLimited(await post());
  });

  it('leaves the other routes without a key alone', async () => {
    for (let i = 0; i < 10; i++) expect((await get('/healthz', {}, '192.0.2.70')).statusCode).toBe(200);
  });
});
