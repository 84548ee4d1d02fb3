// Rate limits (README "Limits"): per API key on /v1, stricter per address on the signed-link
// pages and the webhooks; a 429 is our JSON error with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/services/api-keys';
import { buildTestApp, type TestApp } from './helpers';

let h: TestApp;
let other: { authorization: string };

beforeAll(async () => {
  h = await buildTestApp({ RATE_LIMIT_PER_KEY: '5', RATE_LIMIT_LINKS_PER_IP: '3', RATE_LIMIT_WEBHOOKS_PER_IP: '4' });
  other = { authorization: `Bearer ${(await createApiKey(h.t.db, { name: 'other', role: 'admin' })).key}` };
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

  it('counts wrong keys too, by their prefix, before the key is checked', async () => {
    const forged = { authorization: 'Bearer pp_forgedprefixAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
    for (let i = 0; i < 5; i++) expect((await get('/v1/categories', forged)).statusCode).toBe(401);
    expectRateLimited(await get('/v1/categories', forged));
  });

  it('without a key, counts per address', async () => {
    for (let i = 0; i < 5; i++) expect((await get('/v1/categories', {}, '203.0.113.9')).statusCode).toBe(401);
    expectRateLimited(await get('/v1/categories', {}, '203.0.113.9'));
    expect((await get('/v1/categories', {}, '203.0.113.10')).statusCode).toBe(401);
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
