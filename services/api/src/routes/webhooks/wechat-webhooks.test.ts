// WeChat's server URL: URL verification, signatures (plain and safe mode), template receipts
// (repeated, out of order), unfollow / follow, and binding through a signed scene. End to end:
// the adapter sends through the fake WeChat, and the fake POSTs its events to the listening app.
import { createHash } from 'node:crypto';
import { createWechatAdapter, createWechatTokenSource, encryptMessage, signBindingScene } from '@policy-push/channels';
import { deliveries, getContact, providerTokenStore, rowsOf, eq, sql } from '@policy-push/db';
import { type FakeWechat, type FakeWechatOptions, startFakeWechat } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, contactAudit, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

const APP = { appId: 'wxhook0000000001', appSecret: 'hook-test-secret', token: 'hook-callback-token' };
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const TEMPLATE = { templateId: 'tpl-hook', fields: [{ key: 'thing1', type: 'thing' }] };

interface Setup {
  fake: FakeWechat;
  h: TestApp;
}

async function setup(opts: Partial<FakeWechatOptions> = {}, env: Record<string, string> = {}): Promise<Setup> {
  const fake = await startFakeWechat({ ...APP, ...opts });
  const h = await buildTestApp({
    WECHAT_APP_ID: APP.appId,
    WECHAT_APP_SECRET: APP.appSecret,
    WECHAT_TOKEN: APP.token,
    WECHAT_API_URL: fake.url,
    PUBLIC_BASE_URL: 'https://push.example.org',
    ...env,
  });
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
  fake.setCallbackUrl(`${address}/webhooks/wechat`);
  return { fake, h };
}

/** A wechat contact with a delivery the adapter really sent through the fake: `sent`, with its msgid. */
async function sentDelivery({ fake, h }: Setup, openid: string) {
  const world = await seedWorld(h, [{ wechatOpenid: openid }]);
  const { enterprise, contact } = world.enterprises[0];
  const settings = h.app.deps.config.providers.wechat!;
  const tokens = createWechatTokenSource({ store: providerTokenStore(h.t.db, 'wechat'), settings, timeoutMs: 2000 });
  const adapter = createWechatAdapter({ settings, timeoutMs: 2000, tokens });
  const [row] = await h.t.db
    .insert(deliveries)
    .values({ enterpriseId: Number(enterprise.id), contactId: Number(contact.id), channel: 'wechat', status: 'sending' })
    .returning({ id: deliveries.id });
  const result = await adapter.send({
    deliveryId: String(row.id),
    channel: 'wechat',
    to: openid,
    content: { templateId: TEMPLATE.templateId, url: 'https://push.example.org/p/1', data: { thing1: { value: '新政策' } } },
  });
  if (result.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(result)}`);
  await h.t.db.update(deliveries).set({ status: 'sent', providerMessageId: result.providerMessageId }).where(eq(deliveries.id, row.id));
  expect(fake.messages.at(-1)!.body.client_msg_id).toBe(String(row.id));
  return { deliveryId: row.id, msgid: result.providerMessageId, contactId: Number(contact.id) };
}

const deliveryOf = async (h: TestApp, id: number) => (await h.t.db.select().from(deliveries).where(eq(deliveries.id, id)))[0];
const eventsOf = async (h: TestApp, msgid: string) =>
  rowsOf<{ type: string; error_code: string | null }>(
    await h.t.db.execute(sql`select type, error_code from delivery_events where provider_message_id = ${msgid} order by id`),
  );

const sha1 = (parts: string[]) =>
  createHash('sha1')
    .update([...parts].sort().join(''))
    .digest('hex');
const signedQuery = (token = APP.token, timestamp = String(Math.floor(Date.now() / 1000)), nonce = '424242') =>
  new URLSearchParams({ signature: sha1([token, timestamp, nonce]), timestamp, nonce });

describe('the WeChat webhook (plain mode)', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });
  afterAll(async () => {
    await s.h.close();
    await s.fake.close();
  });

  it('answers the URL check with echostr when the signature is valid, 401 otherwise', async () => {
    const q = signedQuery();
    q.set('echostr', '5837397936430446081');
    const ok = await s.h.app.inject({ method: 'GET', url: `/webhooks/wechat?${q}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.body).toBe('5837397936430446081');
    const forged = signedQuery('not-our-token');
    forged.set('echostr', 'x');
    const refused = await s.h.app.inject({ method: 'GET', url: `/webhooks/wechat?${forged}` });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('invalid_signature');
    expect((await s.h.app.inject({ method: 'GET', url: '/webhooks/wechat?echostr=x' })).statusCode).toBe(401);
  });

  it('records a receipt by MsgID: success → delivered, repeats harmless', async () => {
    const d = await sentDelivery(s, 'oHookSuccess01');
    expect(await s.fake.sendReceipt(d.msgid, 'success', { repeat: 3 })).toEqual(Array(3).fill({ status: 200, body: 'success' }));
    expect(await deliveryOf(s.h, d.deliveryId)).toMatchObject({ status: 'delivered', providerMessageId: d.msgid });
    expect(await eventsOf(s.h, d.msgid)).toEqual([{ type: 'delivered', error_code: null }]);
  });

  it('keeps receipts monotonic when they arrive out of order', async () => {
    const a = await sentDelivery(s, 'oHookOrderA001');
    const b = await sentDelivery(s, 'oHookOrderB001');
    // A's failure arrives after its success; B's are reversed as well, and everything repeated.
    await s.fake.sendReceipts(
      [
        { msgid: a.msgid, status: 'success' },
        { msgid: a.msgid, status: 'failed: system failed' },
        { msgid: b.msgid, status: 'failed:freq limit' },
        { msgid: b.msgid, status: 'success' },
      ],
      { order: 'reversed', repeat: 2 },
    );
    // The first terminal receipt wins; later ones are kept as events but move nothing back.
    expect(await deliveryOf(s.h, a.deliveryId)).toMatchObject({ status: 'undelivered', errorCode: 'system_failed' });
    expect(await deliveryOf(s.h, b.deliveryId)).toMatchObject({ status: 'delivered' });
    expect((await eventsOf(s.h, a.msgid)).map((e) => e.type).sort()).toEqual(['delivered', 'undelivered']);
    expect((await eventsOf(s.h, b.msgid)).map((e) => [e.type, e.error_code])).toEqual([
      ['delivered', null],
      ['undelivered', 'freq_limit'],
    ]);
  });

  it('failed:user block fails the delivery and opts the contact out of WeChat', async () => {
    const d = await sentDelivery(s, 'oHookBlocked01');
    await s.fake.sendReceipt(d.msgid, 'failed:user block');
    expect(await deliveryOf(s.h, d.deliveryId)).toMatchObject({ status: 'failed', errorCode: 'user_block' });
    expect((await getContact(s.h.t.db, d.contactId))!.optedOut).toEqual(['wechat']);
  });

  it('matches MsgID case-insensitively and keeps its digits exact', async () => {
    const d = await sentDelivery(s, 'oHookMsgId0001');
    expect(BigInt(d.msgid) > 2n ** 53n).toBe(true);
    await s.fake.sendEvent({ Event: 'TEMPLATESENDJOBFINISH', FromUserName: 'oHookMsgId0001', MsgId: d.msgid, Status: 'success' });
    expect(await deliveryOf(s.h, d.deliveryId)).toMatchObject({ status: 'delivered' });
  });

  it('unsubscribe opts the openid out of WeChat; a new follow opts it back in', async () => {
    const world = await seedWorld(s.h, [{ wechatOpenid: 'oHookFollow001' }, { wechatOpenid: 'oHookFollow001' }]);
    const ids = world.enterprises.map((e) => Number(e.contact.id));
    await s.fake.sendEvent({ Event: 'unsubscribe', FromUserName: 'oHookFollow001' }, { repeat: 2 });
    for (const id of ids) expect((await getContact(s.h.t.db, id))!.optedOut).toEqual(['wechat']);
    await s.fake.sendEvent({ Event: 'subscribe', FromUserName: 'oHookFollow001', EventKey: '' });
    for (const id of ids) expect((await getContact(s.h.t.db, id))!.optedOut).toEqual([]);
    // The recipient's own acts, in the audit log as theirs; WeChat's repeat changed nothing (issue 12).
    for (const id of ids) {
      expect((await contactAudit(s.h.t, id)).filter((a) => a.action !== 'contact.create')).toEqual([
        { actor: 'recipient', api_key_id: null, action: 'contact.wechat_unfollow' },
        { actor: 'recipient', api_key_id: null, action: 'contact.wechat_follow' },
      ]);
    }
  });

  it('a follow through a contact’s signed scene binds its openid', async () => {
    const world = await seedWorld(s.h, [{ email: 'bind-me@example.com' }, { email: 'bind-scan@example.com' }]);
    const [first, second] = world.enterprises.map((e) => Number(e.contact.id));
    const scene = (id: number) => signBindingScene(s.h.app.deps.signingSecret, id, new Date(Date.now() + 3_600_000));
    await s.fake.sendEvent({ Event: 'subscribe', FromUserName: 'oHookBound0001', EventKey: `qrscene_${scene(first)}` });
    expect(await getContact(s.h.t.db, first)).toMatchObject({ wechatOpenid: 'oHookBound0001', optedOut: [] });
    // SCAN: already following; its EventKey is the bare scene.
    await s.fake.sendEvent({ Event: 'SCAN', FromUserName: 'oHookBound0002', EventKey: scene(second) });
    expect(await getContact(s.h.t.db, second)).toMatchObject({ wechatOpenid: 'oHookBound0002' });
  });

  it('a forged, altered or expired scene binds nothing', async () => {
    const world = await seedWorld(s.h, [{ email: 'not-bound@example.com' }]);
    const id = Number(world.enterprises[0].contact.id);
    const forged = signBindingScene('an-attacker-secret-of-32-characters-or-more', id, new Date(Date.now() + 3_600_000));
    const expired = signBindingScene(s.h.app.deps.signingSecret, id, new Date(Date.now() - 1000));
    const other = signBindingScene(s.h.app.deps.signingSecret, id + 1000, new Date(Date.now() + 3_600_000)).replace(
      `b.${id + 1000}.`,
      `b.${id}.`,
    );
    for (const key of [forged, expired, other, 'b.1.zz.AAAAAAAAAAAAAAAA', 'last_trade_no']) {
      const [res] = await s.fake.sendEvent({ Event: 'subscribe', FromUserName: 'oHookIntruder1', EventKey: `qrscene_${key}` });
      expect(res).toEqual({ status: 200, body: 'success' });
    }
    expect((await getContact(s.h.t.db, id))!.wechatOpenid).toBeNull();
  });

  it('refuses a forged signature with 401 and writes nothing', async () => {
    const d = await sentDelivery(s, 'oHookForged001');
    const before = await tableCounts(s.h.t);
    const [res] = await s.fake.sendReceipt(d.msgid, 'failed:user block', { signWithToken: 'guessed-token' });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe('invalid_signature');
    const unsigned = await s.h.app.inject({
      method: 'POST',
      url: '/webhooks/wechat',
      headers: { 'content-type': 'text/xml' },
      payload: `<xml><MsgType>event</MsgType><Event>unsubscribe</Event><FromUserName>oHookForged001</FromUserName></xml>`,
    });
    expect(unsigned.statusCode).toBe(401);
    expect(await tableCounts(s.h.t)).toEqual(before);
    expect(await deliveryOf(s.h, d.deliveryId)).toMatchObject({ status: 'sent' });
  });

  it('refuses a signed body that is not WeChat XML with 400, and writes nothing', async () => {
    const before = await tableCounts(s.h.t);
    for (const payload of ['not xml at all <', '<other><a>1</a></other>']) {
      const res = await s.h.app.inject({
        method: 'POST',
        url: `/webhooks/wechat?${signedQuery()}`,
        headers: { 'content-type': 'text/xml' },
        payload,
      });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().error.code).toBe('invalid_xml');
    }
    const json = await s.h.app.inject({ method: 'POST', url: `/webhooks/wechat?${signedQuery()}`, payload: { a: 1 } });
    expect(json.statusCode).toBe(400);
    expect(json.json().error.code).toBe('invalid_xml');
    const text = await s.h.app.inject({
      method: 'POST',
      url: `/webhooks/wechat?${signedQuery()}`,
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    });
    expect(text.statusCode).toBe(415);
    expect(await tableCounts(s.h.t)).toEqual(before);
  });

  it('acknowledges events it has no use for', async () => {
    const [res] = await s.fake.sendEvent({ Event: 'VIEW', FromUserName: 'oHookViewer01', EventKey: 'https://example.org' });
    expect(res).toEqual({ status: 200, body: 'success' });
  });
});

describe('the WeChat webhook (safe mode)', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup({ encodingAesKey: AES_KEY }, { WECHAT_ENCODING_AES_KEY: AES_KEY });
  });
  afterAll(async () => {
    await s.h.close();
    await s.fake.close();
  });

  it('decrypts what the fake encrypted and applies it', async () => {
    const d = await sentDelivery(s, 'oSafeSuccess01');
    expect(await s.fake.sendReceipt(d.msgid, 'success', { repeat: 2 })).toEqual(Array(2).fill({ status: 200, body: 'success' }));
    expect(await deliveryOf(s.h, d.deliveryId)).toMatchObject({ status: 'delivered' });
    await s.fake.sendEvent({ Event: 'unsubscribe', FromUserName: 'oSafeSuccess01' });
    expect((await getContact(s.h.t.db, d.contactId))!.optedOut).toEqual(['wechat']);
  });

  it('round-trips our own encryption through the route', async () => {
    const d = await sentDelivery(s, 'oSafeRoundTrip');
    const xml = `<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oSafeRoundTrip]]></FromUserName><CreateTime>1714960000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>${d.msgid}</MsgID><Status><![CDATA[failed: system failed]]></Status></xml>`;
    const encrypted = encryptMessage(AES_KEY, APP.appId, xml);
    const q = signedQuery();
    q.set('encrypt_type', 'aes');
    q.set('msg_signature', sha1([APP.token, q.get('timestamp')!, q.get('nonce')!, encrypted]));
    const res = await s.h.app.inject({
      method: 'POST',
      url: `/webhooks/wechat?${q}`,
      headers: { 'content-type': 'text/xml' },
      payload: `<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('success');
    expect(await deliveryOf(s.h, d.deliveryId)).toMatchObject({ status: 'undelivered', errorCode: 'system_failed' });
  });

  it('refuses a bad msg_signature, another appid or a plain body with 401, writing nothing', async () => {
    const d = await sentDelivery(s, 'oSafeForged001');
    const before = await tableCounts(s.h.t);
    const [wrongToken] = await s.fake.sendReceipt(d.msgid, 'failed:user block', { signWithToken: 'guessed-token' });
    const [otherApp] = await s.fake.sendReceipt(d.msgid, 'failed:user block', { encryptForAppId: 'wxsomeoneelse001' });
    // A plain body with a valid `signature`: the signature does not cover the body, so it is refused.
    const plain = await s.h.app.inject({
      method: 'POST',
      url: `/webhooks/wechat?${signedQuery()}`,
      headers: { 'content-type': 'text/xml' },
      payload: `<xml><MsgType>event</MsgType><Event>unsubscribe</Event><FromUserName>oSafeForged001</FromUserName></xml>`,
    });
    expect([wrongToken.status, otherApp.status, plain.statusCode]).toEqual([401, 401, 401]);
    expect(await tableCounts(s.h.t)).toEqual(before);
  });
});

describe('the WeChat webhook without WeChat settings', () => {
  it('answers 404 wechat_not_configured', async () => {
    const h = await buildTestApp();
    try {
      for (const method of ['GET', 'POST'] as const) {
        const res = await h.app.inject({
          method,
          url: `/webhooks/wechat?${signedQuery()}`,
          headers: { 'content-type': 'text/xml' },
          payload: method === 'POST' ? '<xml/>' : undefined,
        });
        expect(res.statusCode).toBe(404);
        expect(res.json().error.code).toBe('wechat_not_configured');
      }
    } finally {
      await h.close();
    }
  });
});
