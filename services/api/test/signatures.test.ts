// Forged, replayed and expired signatures (issue 6, "Hostile input"): the signed links and the
// webhooks refuse them with a 4xx, write nothing, and leave exactly one warning in the log, which
// holds neither the token nor a secret. The route tests cover each refusal's page and code; this
// file covers the trace they leave, and replays.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger, signToken } from '@policy-push/core';
import { rowsOf, sql } from '@policy-push/db';
import twilio from 'twilio';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import type { AppInstance } from '../src/app-instance';
import { buildTestApp, seedWorld, tableCounts, type TestApp } from './helpers';

const BASE = 'https://push.example.org';
const WECHAT = { appId: 'wxsig00000000001', appSecret: 'wechat-app-secret-sig', token: 'wechat-callback-token-sig' };
const TWILIO_TOKEN = 'twilio-auth-token-for-signatures-0001';
const ATTACKER_SECRET = 'an-attacker-secret-of-32-characters-or-more';
const DAY = 86_400_000;

let h: TestApp;
let app: AppInstance;
const lines: string[] = [];
let deliveryId: number;
let contactId: number;

beforeAll(async () => {
  h = await buildTestApp({
    PUBLIC_BASE_URL: BASE,
    WECHAT_APP_ID: WECHAT.appId,
    WECHAT_APP_SECRET: WECHAT.appSecret,
    WECHAT_TOKEN: WECHAT.token,
    TWILIO_ACCOUNT_SID: `AC${'0123456789abcdef'.repeat(2)}`,
    TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
    TWILIO_FROM: '+15005550006',
  });
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  app = await buildApp({ ...h.app.deps, logger: createLogger({ level: 'debug' }, sink) });
  const world = await seedWorld(h, [{ phone: '+8613912345678', email: 'sig.owner@example.com' }]);
  contactId = Number(world.enterprises[0].contact.id);
  const [row] = rowsOf<{ id: string }>(
    await h.t.db.execute(sql`
      insert into deliveries (enterprise_id, contact_id, channel, status, provider_message_id, attempts, sent_at)
      values (${Number(world.enterprises[0].enterprise.id)}, ${contactId}, 'sms', 'sent', ${`SM${'a'.repeat(32)}`}, 1, now())
      returning id`),
  );
  deliveryId = Number(row.id);
});
afterAll(async () => {
  await app.close();
  await h.close();
});

/** Runs `send` and answers the log lines it wrote, parsed. */
async function logOf(send: () => Promise<unknown>) {
  const from = lines.length;
  await send();
  return lines.slice(from).map((l) => JSON.parse(l) as Record<string, unknown> & { level: number; msg: string });
}

/** The request is refused with `status`, writes nothing, and logs exactly one warning without `secrets`. */
async function expectRefusedTrace(request: InjectOptions, status: number, secrets: string[]) {
  const before = await tableCounts(h.t);
  let res: LightMyRequestResponse | undefined;
  const log = await logOf(async () => (res = await app.inject(request)));
  expect(res!.statusCode, res!.body).toBe(status);
  expect(await tableCounts(h.t)).toEqual(before);
  const warnings = log.filter((l) => l.level === 40);
  expect(warnings, JSON.stringify(log)).toHaveLength(1);
  const text = JSON.stringify(log);
  for (const secret of [...secrets, h.app.deps.signingSecret, WECHAT.token, TWILIO_TOKEN]) expect(text).not.toContain(secret);
  return { res: res!, warning: warnings[0] };
}

describe('signed links', () => {
  const later = () => new Date(Date.now() + DAY);
  const earlier = () => new Date(Date.now() - 1000);
  const links = () => [
    { path: '/r/', purpose: 'open', subject: deliveryId.toString(36), methods: ['GET'] },
    { path: '/u/', purpose: 'unsubscribe', subject: String(deliveryId), methods: ['GET', 'POST'] },
    { path: '/p/', purpose: 'preferences', subject: String(contactId), methods: ['GET', 'POST'] },
    { path: '/c/', purpose: 'confirm-email', subject: `${contactId}:AAAAAAAAAAAAAAAAAAAAAA`, methods: ['GET'] },
  ];
  const forms: Record<string, string> = { '/u/': 'List-Unsubscribe=One-Click', '/p/': 'action=unsubscribe-all' };

  it('forged, expired or tampered: a 400 page, nothing written, one warning without the token', async () => {
    for (const link of links()) {
      const secret = h.app.deps.signingSecret;
      const genuine = signToken(secret, link.purpose, link.subject, later());
      const tokens = {
        forged: signToken(ATTACKER_SECRET, link.purpose, link.subject, later()),
        expired: signToken(secret, link.purpose, link.subject, earlier()),
        tampered: genuine.replace(/^[^.]+/, '999999'),
        otherPurpose: signToken(secret, 'ops-session', link.subject, later()),
      };
      for (const [kind, token] of Object.entries(tokens)) {
        for (const method of link.methods) {
          const form = method === 'POST' ? forms[link.path] : undefined;
          const { res, warning } = await expectRefusedTrace(
            {
              method: method as 'GET' | 'POST',
              url: `${link.path}${token}`,
              ...(form ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form } : {}),
            },
            400,
            [token, token.split('.')[2]],
          );
          expect(res.headers['content-type'], `${link.path} ${kind}`).toMatch(/^text\/html/);
          expect(warning.msg, `${link.path} ${kind}`).toMatch(/^signed link refused/);
        }
      }
    }
  });

  it('the pages carry helmet’s security headers', async () => {
    for (const path of ['/r/x', '/u/x', '/p/x', '/c/x']) {
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.headers['x-frame-options'], path).toBe('DENY');
      expect(res.headers['x-content-type-options'], path).toBe('nosniff');
      expect(res.headers['strict-transport-security'], path).toBeDefined();
      expect(res.headers['referrer-policy'], path).toBe('no-referrer');
      expect(res.headers['content-security-policy'], path).toContain("default-src 'none'");
    }
  });
});

const sha1 = (parts: string[]) =>
  createHash('sha1')
    .update([...parts].sort().join(''))
    .digest('hex');
const wechatQuery = (timestamp: number, token = WECHAT.token, nonce = '31337') =>
  new URLSearchParams({
    signature: sha1([token, String(timestamp), nonce]),
    timestamp: String(timestamp),
    nonce,
    openid: 'oSigReplay0001',
  });
const unfollow = `<xml><ToUserName><![CDATA[gh_sig]]></ToUserName><FromUserName><![CDATA[oSigReplay0001]]></FromUserName><CreateTime>1714960000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>`;

describe('WeChat callbacks', () => {
  const postEvent = (query: URLSearchParams) => ({
    method: 'POST' as const,
    url: `/webhooks/wechat?${query}`,
    headers: { 'content-type': 'text/xml' },
    payload: unfollow,
  });

  it('a genuine callback replayed outside the five-minute window is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 301, now - 86_400, now + 600]) {
      const { res, warning } = await expectRefusedTrace(postEvent(wechatQuery(timestamp)), 401, ['oSigReplay0001']);
      expect(res.json().error.code).toBe('stale_timestamp');
      expect(warning).toMatchObject({ reason: 'timestamp' });
    }
    // The URL check too.
    const q = wechatQuery(now - 3600);
    q.set('echostr', '123');
    expect((await app.inject({ method: 'GET', url: `/webhooks/wechat?${q}` })).statusCode).toBe(401);
    // Inside the window it is accepted.
    expect((await app.inject(postEvent(wechatQuery(now - 5)))).statusCode).toBe(200);
  });

  it('a forged signature is refused with one warning', async () => {
    const { res, warning } = await expectRefusedTrace(postEvent(wechatQuery(Math.floor(Date.now() / 1000), 'guessed-token')), 401, [
      'oSigReplay0001',
    ]);
    expect(res.json().error.code).toBe('invalid_signature');
    expect(warning).toMatchObject({ reason: 'signature' });
  });
});

describe('Twilio callbacks', () => {
  const statusUrl = '/webhooks/twilio/status';
  const params = (status: string) => ({
    MessageSid: `SM${'a'.repeat(32)}`,
    MessageStatus: status,
    AccountSid: `AC${'0123456789abcdef'.repeat(2)}`,
    To: '+8613912345678',
  });
  const post = (p: Record<string, string>, signature: string) => ({
    method: 'POST' as const,
    url: statusUrl,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    payload: new URLSearchParams(p).toString(),
  });

  it('a replayed status callback is idempotent: no new rows', async () => {
    const p = params('delivered');
    const signature = twilio.getExpectedTwilioSignature(TWILIO_TOKEN, `${BASE}${statusUrl}`, p);
    expect((await app.inject(post(p, signature))).statusCode).toBe(204);
    const after = await tableCounts(h.t);
    for (let i = 0; i < 3; i++) expect((await app.inject(post(p, signature))).statusCode).toBe(204);
    expect(await tableCounts(h.t)).toEqual(after);
  });

  it('a forged or re-addressed signature is refused with one warning, without the phone number', async () => {
    const p = params('undelivered');
    const forged = twilio.getExpectedTwilioSignature('not-the-auth-token', `${BASE}${statusUrl}`, p);
    await expectRefusedTrace(post(p, forged), 401, ['+8613912345678', '13912345678']);
    const elsewhere = twilio.getExpectedTwilioSignature(TWILIO_TOKEN, `https://attacker.example${statusUrl}`, p);
    await expectRefusedTrace(post(p, elsewhere), 401, ['+8613912345678']);
  });
});
