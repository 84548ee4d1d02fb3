// The WeChat token source (packages/channels) over the token store the dispatchers share in
// Postgres (providerTokenStore): here because it takes a database, and the channels do not.
import { createWechatTokenSource, WechatTokenError, type WechatTokenOptions } from '@policy-push/channels';
import type { ProviderSettings } from '@policy-push/core';
import { getProviderToken, providerTokens, providerTokenStore } from '@policy-push/db';
import { createTestDb, type FakeWechat, startFakeWechat, type TestDb } from '@policy-push/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const APP = { appId: 'wxtoken000000001', appSecret: 'token-test-secret', token: 'callback-token' };
let testDb: TestDb;
let fake: FakeWechat;
let clock: number;
const now = () => new Date(clock);

beforeAll(async () => {
  testDb = await createTestDb();
});
afterAll(async () => {
  await testDb.drop();
});
beforeEach(async () => {
  clock = Date.parse('2024-05-06T02:00:00Z');
  fake = await startFakeWechat({ ...APP, now: () => clock });
  await testDb.db.delete(providerTokens);
});
afterEach(async () => {
  await fake.close();
});

const settings = (over: Partial<NonNullable<ProviderSettings['wechat']>> = {}) => ({
  ...APP,
  apiUrl: fake.url,
  dailyQuota: 100_000,
  perSecond: 200,
  ...over,
});
const source = (over: Partial<WechatTokenOptions> = {}) =>
  createWechatTokenSource({ store: providerTokenStore(testDb.db, 'wechat'), settings: settings(), timeoutMs: 2000, now, ...over });

describe('the WeChat token source', () => {
  it('fetches the stable token once and keeps it in Postgres for every process', async () => {
    const a = source();
    const token = await a.get();
    expect(fake.tokenRequests).toEqual([{ force: false }]);
    expect(await getProviderToken(testDb.db, 'wechat')).toEqual({
      token,
      expiresAt: new Date(clock + 7200_000),
      refreshedAt: new Date(clock),
    });
    expect(await a.get()).toBe(token);
    // Another dispatcher reads the same cache: no second request.
    expect(await source().current()).toBe(token);
    expect(fake.tokenRequests).toHaveLength(1);
  });

  it('current() re-reads the cache: a token another process refreshed is seen at once', async () => {
    const a = source();
    const old = await a.get();
    const renewed = await source().refresh(true, old);
    expect(renewed).not.toBe(old);
    expect(await a.get()).toBe(old); // remembered for a moment…
    expect(await a.current()).toBe(renewed); // …but the cache is the truth
    expect(await a.get()).toBe(renewed);
  });

  it('refreshes ahead of expiry, once WeChat renews the token', async () => {
    const a = source();
    const first = await a.get();
    clock += 7200_000 - 6 * 60_000;
    expect(await a.current()).toBe(first);
    clock += 2 * 60_000; // 4 minutes left: inside both our margin and WeChat's renewal
    const second = await a.get();
    expect(second).not.toBe(first);
    expect(fake.tokenRequests).toEqual([{ force: false }, { force: false }]);
    expect((await getProviderToken(testDb.db, 'wechat'))!.expiresAt).toEqual(new Date(clock + 7200_000));
  });

  it('does not fetch again and again a token that is short-lived from the start', async () => {
    await fake.close();
    fake = await startFakeWechat({ ...APP, now: () => clock, tokenTtlSeconds: 200 });
    const a = source({ settings: settings() });
    const first = await a.current();
    clock += 10_000;
    expect(await a.current()).toBe(first);
    expect(fake.tokenRequests).toHaveLength(1);
    clock += 30_000;
    expect(await a.current()).not.toBe(first);
    expect(fake.tokenRequests).toHaveLength(2);
  });

  it('forces a refresh only while the rejected token is still the cached one', async () => {
    const a = source();
    const b = source();
    const old = await a.get();
    const renewed = await a.refresh(true, old);
    expect(await b.refresh(true, old)).toBe(renewed);
    expect(fake.tokenRequests).toEqual([{ force: false }, { force: true }]);
  });

  it('lets exactly one refresher through when several processes race', async () => {
    const sources = [source(), source(), source()];
    const old = await sources[0].get();
    const results = await Promise.all(sources.flatMap((s) => [1, 2, 3].map(() => s.refresh(true, old))));
    expect(new Set(results).size).toBe(1);
    expect(results[0]).not.toBe(old);
    expect(fake.tokenRequests.filter((r) => r.force)).toHaveLength(1);
  });

  it('a non-forced refresh finds a fresh cache and asks nothing', async () => {
    const a = source();
    const token = await a.get();
    expect(await source().refresh(false)).toBe(token);
    expect(fake.tokenRequests).toHaveLength(1);
  });

  it('reports WeChat refusing the credentials, and keeps nothing', async () => {
    const bad = source({ settings: settings({ appSecret: 'wrong' }) });
    const err = await bad.get().catch((e) => e);
    expect(err).toBeInstanceOf(WechatTokenError);
    expect(err).toMatchObject({ code: '40125', errcode: 40125 });
    expect(err.message).not.toContain('wrong');
    expect(await getProviderToken(testDb.db, 'wechat')).toBeNull();
  });

  it('reports an unreachable API as a network error', async () => {
    const url = fake.url;
    await fake.close();
    const err = await source({ settings: settings({ apiUrl: url }) })
      .get()
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'NETWORK_ERROR' });
    fake = await startFakeWechat({ ...APP, now: () => clock });
  });
});
