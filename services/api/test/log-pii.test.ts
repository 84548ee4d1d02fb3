// Logs never hold a full phone number, email, openid, API key or provider secret (issue 6). The
// whole log of a publish → dispatch → receipt run with all three providers (the testkit fakes),
// at debug level, with failing requests and a database error that carries the contact's phone in
// its parameters, is searched for every such value used.
import { Writable } from 'node:stream';
import { createLogger } from '@policy-push/core';
import { sql } from '@policy-push/db';
import { freePort, type ProviderFakes, startProviderFakes } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app';
import type { AppInstance } from '../src/app-instance';
import { createApiKey } from '../src/services/api-keys';
import { buildTestApp, call, policyBody, seedWorld, type TestApp, startTestDispatcher } from './helpers';

const WECHAT = { appId: 'wxlogpii00000001', appSecret: 'wechat-app-secret-logpii-77', token: 'wechat-callback-token-logpii' };
const PHONES = ['+12025550150', '+12025550177', '+12025550160', '+8613912340001'];
const EMAILS = ['pii.fallback@example.com', 'pii.contact@example.com'];
const OPENIDS = ['openid-pii-follower', 'openid-pii-not-following'];

describe('the log of a whole run', () => {
  let h: TestApp;
  let app: AppInstance;
  let fakes: ProviderFakes;
  let dispatcher: Awaited<ReturnType<typeof startTestDispatcher>>;
  const log: string[] = [];
  let secrets: string[];

  beforeAll(async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    fakes = await startProviderFakes({ wechat: WECHAT, wechatCallbackUrl: `${base}/webhooks/wechat` });
    fakes.twilio.setBehaviour({ autoStatus: { statuses: ['sent', 'delivered'] }, errorsByTo: { '+12025550177': 21211 } });
    fakes.wechat.setBehaviour({ errorFor: { 'openid-pii-not-following': 43004 } });
    h = await buildTestApp({
      ...fakes.env,
      PUBLIC_BASE_URL: base,
      DISPATCH_POLL_MS: '20',
    });
    const sink = new Writable({
      write(chunk, _enc, done) {
        log.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'debug' }, sink);
    // The app under test is this one, logging everything; h.app only lends its database and key.
    app = await buildApp({ ...h.app.deps, logger });
    await app.listen({ port, host: '127.0.0.1' });
    dispatcher = await startTestDispatcher(h, h.app.deps.config, logger);
    const publisherKey = (await createApiKey(h.t.db, { name: 'log test', role: 'admin' })).key;
    secrets = [
      h.auth.authorization.slice('Bearer '.length),
      publisherKey,
      fakes.twilio.authToken,
      WECHAT.appSecret,
      WECHAT.token,
      h.app.deps.signingSecret,
    ];
  });
  afterAll(async () => {
    await dispatcher.stop();
    await app.close();
    await h.close();
    await fakes.close();
  });

  /** Through the listening app, so its log sees every request. */
  const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, headers = h.auth) =>
    app.inject({ method, url, headers, payload: payload as object });

  it('holds no phone number, email, openid, key or secret', async () => {
    const world = await seedWorld(h, [
      { wechatOpenid: OPENIDS[0], channels: ['wechat', 'sms'] },
      { wechatOpenid: OPENIDS[1], phone: PHONES[0], channels: ['wechat', 'sms'] },
      { phone: PHONES[1], email: EMAILS[0], channels: ['sms', 'email'] },
      { phone: PHONES[2], channels: ['sms'] },
      { email: EMAILS[1], channels: ['email'] },
    ]);
    await call(h, 'PATCH', `/v1/departments/${world.department.id}`, {
      wechatTemplate: { templateId: 'tmpl-policy', fields: [{ key: 'thing1', type: 'thing' }] },
    });

    // Failing requests: a wrong key, bad contacts, a search by phone and by email.
    const enterpriseId = world.enterprises[0].enterprise.id;
    expect((await api('GET', '/v1/categories', undefined, { authorization: `Bearer ${secrets[1].slice(0, -4)}zzzz` })).statusCode).toBe(
      401,
    );
    expect((await api('POST', `/v1/enterprises/${enterpriseId}/contacts`, { phone: 'not-a-phone', email: EMAILS[0] })).statusCode).toBe(
      422,
    );
    expect((await api('POST', `/v1/enterprises/${enterpriseId}/contacts`, { phone: PHONES[3], unknownField: EMAILS[1] })).statusCode).toBe(
      400,
    );
    expect((await api('GET', `/v1/deliveries?q=${encodeURIComponent(PHONES[0])}`)).statusCode).toBe(200);
    expect((await api('GET', `/v1/deliveries?q=${encodeURIComponent(EMAILS[1])}`)).statusCode).toBe(200);

    // A database error whose parameters hold a phone: a unique index that the insert violates.
    await h.t.db.execute(sql`create unique index log_pii_phone_once on contacts (phone)`);
    try {
      const dup = await api('POST', `/v1/enterprises/${enterpriseId}/contacts`, { phone: PHONES[2] });
      expect(dup.statusCode).toBeGreaterThanOrEqual(400);
    } finally {
      await h.t.db.execute(sql`drop index log_pii_phone_once`);
    }

    // Publish → dispatch → receipts (WeChat's through its webhook, Twilio's by status callbacks).
    const published = await api('POST', '/v1/policies', policyBody(world.department.id, world.category.id));
    expect(published.statusCode, published.body).toBe(202);
    const policyId = published.json().policy.id;
    await vi.waitFor(() => expect(fakes.wechat.messages).toHaveLength(1), { timeout: 15_000 });
    await fakes.wechat.sendReceipt(fakes.wechat.messages[0].msgid, 'success');
    await vi.waitFor(
      async () => {
        const items = (await api('GET', `/v1/deliveries?policyId=${policyId}&limit=100`)).json().items as { status: string }[];
        expect(items.map((d) => d.status).sort()).toEqual(['delivered', 'delivered', 'delivered', 'failed', 'failed', 'sent', 'sent']);
      },
      { timeout: 20_000, interval: 100 },
    );
    // A follower unfollows (the callback carries the openid in its query).
    await fakes.wechat.sendEvent({ Event: 'unsubscribe', FromUserName: OPENIDS[0] });

    const text = log.join('');
    expect(text).toContain('request completed'); // debug logs were captured
    expect(text).toContain('request failed'); // the database error was logged
    const values = [...PHONES, ...PHONES.map((p) => p.slice(1)), ...EMAILS, ...OPENIDS, ...secrets];
    const found = [...values, ...values.map(encodeURIComponent)].filter((v) => text.includes(v));
    expect(found, found.map((v) => text.split('\n').find((l) => l.includes(v))).join('\n')).toEqual([]);
  });
});
