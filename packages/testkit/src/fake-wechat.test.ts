import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeWechat, type FakeWechatOptions, startFakeWechat } from './fake-wechat';

const APP = { appId: 'wxfake0000000001', appSecret: 'fake-secret', token: 'fake-callback-token' };
const fakes: FakeWechat[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function start(opts: Partial<FakeWechatOptions> = {}) {
  const fake = await startFakeWechat({ ...APP, ...opts });
  fakes.push(fake);
  return fake;
}

async function call(fake: FakeWechat, path: string, body?: unknown): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(`${fake.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

const stable = (fake: FakeWechat, force = false, over: object = {}) =>
  call(fake, '/cgi-bin/stable_token', {
    grant_type: 'client_credential',
    appid: APP.appId,
    secret: APP.appSecret,
    force_refresh: force,
    ...over,
  });

const send = (fake: FakeWechat, token: string, body: object) => call(fake, `/cgi-bin/message/template/send?access_token=${token}`, body);

const message = (over: object = {}) => ({
  touser: 'oOpenid000001',
  template_id: 'tpl-1',
  url: 'https://example.org/p/1',
  client_msg_id: '1001',
  data: { thing1: { value: '政策标题' }, time3: { value: '2024年5月6日 09:30' } },
  ...over,
});

describe('fake WeChat: stable token', () => {
  it('answers the same token on repeat calls and a new one when forced, which invalidates the old', async () => {
    const fake = await start();
    const a = (await stable(fake)).json;
    expect(a).toMatchObject({ access_token: expect.any(String), expires_in: 7200 });
    expect((await stable(fake)).json.access_token).toBe(a.access_token);
    const forced = (await stable(fake, true)).json.access_token;
    expect(forced).not.toBe(a.access_token);
    expect((await send(fake, a.access_token, message())).json.errcode).toBe(40001);
    expect((await send(fake, forced, message())).json.errcode).toBe(0);
    expect(fake.tokenRequests).toEqual([{ force: false }, { force: false }, { force: true }]);
  });

  it('renews the token in its last 5 minutes; the old one works until it expires', async () => {
    let clock = Date.parse('2024-05-06T00:00:00Z');
    const fake = await start({ now: () => clock });
    const first = (await stable(fake)).json.access_token;
    clock += 7200_000 - 299_000;
    const second = (await stable(fake)).json;
    expect(second.access_token).not.toBe(first);
    expect(second.expires_in).toBe(7200);
    expect((await send(fake, first, message())).json.errcode).toBe(0);
    clock += 300_000;
    expect((await send(fake, first, message({ client_msg_id: '1002' }))).json.errcode).toBe(42001);
  });

  it('refuses a wrong appid, secret or grant type', async () => {
    const fake = await start();
    expect((await stable(fake, false, { appid: 'wxother' })).json.errcode).toBe(40013);
    expect((await stable(fake, false, { secret: 'nope' })).json.errcode).toBe(40125);
    expect((await stable(fake, false, { grant_type: 'password' })).json.errcode).toBe(40002);
  });

  it('expireTokens makes the current token answer 42001', async () => {
    const fake = await start();
    const token = (await stable(fake)).json.access_token;
    fake.expireTokens();
    expect((await send(fake, token, message())).json.errcode).toBe(42001);
    expect((await stable(fake)).json.access_token).not.toBe(token);
  });
});

describe('fake WeChat: template send', () => {
  async function withToken(opts: Partial<FakeWechatOptions> = {}) {
    const fake = await start(opts);
    return { fake, token: (await stable(fake)).json.access_token as string };
  }

  it('answers HTTP 200 with a msgid above 2^53, written as a bare JSON number', async () => {
    const { fake, token } = await withToken();
    const res = await send(fake, token, message());
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"errcode":0,"errmsg":"ok","msgid":3147483648123456789}');
    expect(Number.isSafeInteger(res.json.msgid)).toBe(false);
    expect(fake.messages).toEqual([{ msgid: '3147483648123456789', openid: 'oOpenid000001', body: message(), cut: [] }]);
  });

  it('refuses unknown or missing tokens, always with HTTP 200', async () => {
    const { fake } = await withToken();
    const unknown = await send(fake, 'made-up', message());
    expect(unknown.status).toBe(200);
    expect(unknown.json.errcode).toBe(40001);
    expect((await call(fake, '/cgi-bin/message/template/send', message())).json.errcode).toBe(41001);
    expect(fake.sent).toHaveLength(2);
    expect(fake.messages).toHaveLength(0);
  });

  it('deduplicates the same openid and client_msg_id within the window', async () => {
    let clock = Date.parse('2024-05-06T00:00:00Z');
    const { fake, token } = await withToken({ now: () => clock, dedupeWindowMs: 600_000 });
    const first = (await send(fake, token, message())).text;
    expect((await send(fake, token, message())).text).toBe(first);
    expect((await send(fake, token, message({ touser: 'oOpenid000002' }))).text).not.toBe(first);
    clock += 600_000;
    expect((await send(fake, token, message())).text).not.toBe(first);
    expect(fake.sent).toHaveLength(4);
    expect(fake.messages).toHaveLength(3);
  });

  it('holds each field to the limit of its key type: 47003, or cut when configured', async () => {
    const { fake, token } = await withToken();
    const over = (data: object) => send(fake, token, message({ client_msg_id: String(Math.random()), data }));
    expect((await over({ thing1: { value: '一'.repeat(20) } })).json.errcode).toBe(0);
    expect((await over({ thing1: { value: '一'.repeat(21) } })).json.errcode).toBe(47003);
    expect((await over({ character_string4: { value: 'x'.repeat(32) } })).json.errcode).toBe(0);
    expect((await over({ character_string4: { value: 'x'.repeat(33) } })).json.errcode).toBe(47003);
    expect((await over({ phrase5: { value: '已发布政策' } })).json.errcode).toBe(0);
    expect((await over({ phrase5: { value: '已发布新政策' } })).json.errcode).toBe(47003);
    expect((await over({ keyword1: { value: '两行\n文字' } })).json.errcode).toBe(47003);
    expect((await over({ thing1: { value: 42 } })).json.errcode).toBe(47001);
    fake.setBehaviour({ limits: { thing: 5 } as never });
    expect((await over({ thing1: { value: '一二三四五六' } })).json.errcode).toBe(47003);
    fake.setBehaviour({ overLimit: 'cut' });
    expect((await over({ thing1: { value: '一二三四五六' } })).json.errcode).toBe(0);
    expect(fake.messages.at(-1)!.cut).toEqual(['thing1']);
  });

  it('refuses unknown template ids when it knows the account’s templates', async () => {
    const { fake, token } = await withToken({ templateIds: ['tpl-1'] });
    expect((await send(fake, token, message())).json.errcode).toBe(0);
    expect((await send(fake, token, message({ template_id: 'tpl-9', client_msg_id: '2' }))).json.errcode).toBe(40037);
  });

  it('answers planned errors: for an openid, and for the next calls', async () => {
    const { fake, token } = await withToken();
    fake.setBehaviour({ errorFor: { oBlocked0001: 43019 }, nextErrors: [45009, -1] });
    expect((await send(fake, token, message())).json.errcode).toBe(45009);
    expect((await send(fake, token, message())).json.errcode).toBe(-1);
    expect((await send(fake, token, message())).json.errcode).toBe(0);
    expect((await send(fake, token, message({ touser: 'oBlocked0001' }))).json.errcode).toBe(43019);
  });

  it('hangs without answering, yet takes the message', async () => {
    const { fake, token } = await withToken();
    fake.setBehaviour({ hang: 1 });
    const res = await fetch(`${fake.url}/cgi-bin/message/template/send?access_token=${token}`, {
      method: 'POST',
      body: JSON.stringify(message()),
      signal: AbortSignal.timeout(200),
    }).catch((err: Error) => err);
    expect((res as Error).name).toBe('TimeoutError');
    expect(fake.messages).toHaveLength(1);
    // The retry is answered, with the same msgid: nothing sent twice.
    expect((await send(fake, token, message())).json.msgid).toBeDefined();
    expect(fake.messages).toHaveLength(1);
  });
});

describe('fake WeChat: QR codes and web authorisation', () => {
  it('makes a QR_STR_SCENE ticket', async () => {
    const fake = await start();
    const token = (await stable(fake)).json.access_token;
    const body = { expire_seconds: 604800, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'b.1.abc.sig' } } };
    const res = (await call(fake, `/cgi-bin/qrcode/create?access_token=${token}`, body)).json;
    expect(res).toMatchObject({ ticket: expect.any(String), expire_seconds: 604800, url: expect.stringContaining('weixin.qq.com/q/') });
    expect(fake.qrCodes).toEqual([{ ticket: res.ticket, scene: 'b.1.abc.sig', expireSeconds: 604800 }]);
    const tooLong = { ...body, action_info: { scene: { scene_str: 'x'.repeat(65) } } };
    expect((await call(fake, `/cgi-bin/qrcode/create?access_token=${token}`, tooLong)).json.errcode).toBe(40097);
    expect((await call(fake, `/cgi-bin/qrcode/create?access_token=nope`, body)).json.errcode).toBe(40001);
  });

  it('exchanges a code for its openid once', async () => {
    const fake = await start();
    const code = fake.issueOauthCode('oWeb00000001');
    const q = (c: string, secret = APP.appSecret) =>
      `/sns/oauth2/access_token?appid=${APP.appId}&secret=${secret}&code=${c}&grant_type=authorization_code`;
    expect((await call(fake, q(code, 'wrong'))).json.errcode).toBe(40125);
    expect((await call(fake, q(code))).json).toMatchObject({ openid: 'oWeb00000001', scope: 'snsapi_base' });
    expect((await call(fake, q(code))).json.errcode).toBe(40163);
    expect((await call(fake, q('made-up'))).json.errcode).toBe(40029);
  });
});

describe('fake WeChat: callbacks', () => {
  async function receiver() {
    const got: { url: URL; body: string; type?: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        got.push({ url: new URL(req.url!, 'http://x'), body: Buffer.concat(chunks).toString(), type: req.headers['content-type'] });
        res.end('success');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => server.close() };
  }
  const sha1 = (parts: string[]) =>
    createHash('sha1')
      .update([...parts].sort().join(''))
      .digest('hex');

  it('posts receipts as signed XML, repeated and in the order asked', async () => {
    const r = await receiver();
    const fake = await start();
    fake.setCallbackUrl(r.url);
    const token = (await stable(fake)).json.access_token;
    const a = (await send(fake, token, message())).text.match(/\d{19}/)![0];
    const b = (await send(fake, token, message({ client_msg_id: '1002' }))).text.match(/\d{19}/)![0];
    expect(await fake.sendReceipt(a, 'success', { repeat: 2 })).toEqual([
      { status: 200, body: 'success' },
      { status: 200, body: 'success' },
    ]);
    await fake.sendReceipts(
      [
        { msgid: a, status: 'success' },
        { msgid: b, status: 'failed: system failed' },
      ],
      { order: 'reversed' },
    );
    r.close();
    expect(r.got).toHaveLength(4);
    const [first] = r.got;
    expect(first.type).toBe('text/xml');
    const q = Object.fromEntries(first.url.searchParams);
    expect(q.signature).toBe(sha1([APP.token, q.timestamp, q.nonce]));
    expect(q.openid).toBe('oOpenid000001');
    expect(first.body).toContain(`<MsgID>${a}</MsgID>`);
    expect(first.body).toContain('<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>');
    expect(first.body).toContain('<Status><![CDATA[success]]></Status>');
    expect(r.got[2].body).toContain(`<MsgID>${b}</MsgID>`);
    expect(r.got[2].body).toContain('<Status><![CDATA[failed: system failed]]></Status>');
  });

  it('encrypts in safe mode, with msg_signature over the Encrypt element', async () => {
    const r = await receiver();
    const fake = await start({ encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', callbackUrl: r.url });
    await fake.sendEvent({ Event: 'unsubscribe', FromUserName: 'oOpenid000001' });
    r.close();
    const [{ url, body }] = r.got;
    const q = Object.fromEntries(url.searchParams);
    const encrypted = /<Encrypt><!\[CDATA\[(.*)\]\]><\/Encrypt>/.exec(body)![1];
    expect(body).not.toContain('unsubscribe');
    expect(q.encrypt_type).toBe('aes');
    expect(q.msg_signature).toBe(sha1([APP.token, q.timestamp, q.nonce, encrypted]));
  });

  it('turns a QR code scan into subscribe (qrscene_ key) or SCAN', async () => {
    const r = await receiver();
    const fake = await start({ callbackUrl: r.url });
    const token = (await stable(fake)).json.access_token;
    const body = { expire_seconds: 600, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'scene-1' } } };
    const { ticket } = (await call(fake, `/cgi-bin/qrcode/create?access_token=${token}`, body)).json;
    await fake.scanQrCode(ticket, 'oScan0000001');
    await fake.scanQrCode(ticket, 'oScan0000001', { following: true });
    r.close();
    expect(r.got[0].body).toContain('<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_scene-1]]></EventKey>');
    expect(r.got[1].body).toContain('<Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[scene-1]]></EventKey>');
  });
});
