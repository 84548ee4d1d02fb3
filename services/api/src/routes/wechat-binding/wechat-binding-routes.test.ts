// Binding a contact to its WeChat openid: the signed QR code (followed through the fake WeChat,
// whose event reaches the listening app) and web authorisation (the OAuth callback).
import { verifyBindingScene, signBindingScene } from '@policy-push/channels';
import { getContact } from '@policy-push/db';
import { type FakeWechat, startFakeWechat } from '@policy-push/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';

const APP = { appId: 'wxbind0000000001', appSecret: 'bind-test-secret', token: 'bind-callback-token' };
const PUBLIC = 'https://push.example.org';
const env = (apiUrl: string) => ({
  WECHAT_APP_ID: APP.appId,
  WECHAT_APP_SECRET: APP.appSecret,
  WECHAT_TOKEN: APP.token,
  WECHAT_API_URL: apiUrl,
  PUBLIC_BASE_URL: PUBLIC,
});

let fake: FakeWechat;
let h: TestApp;
beforeAll(async () => {
  fake = await startFakeWechat(APP);
  h = await buildTestApp(env(fake.url));
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
  fake.setCallbackUrl(`${address}/webhooks/wechat`);
});
afterAll(async () => {
  await h.close();
  await fake.close();
});

async function contact(email: string): Promise<number> {
  const world = await seedWorld(h, [{ email }]);
  return Number(world.enterprises[0].contact.id);
}

const callback = (code: string, state: string) =>
  h.app.inject({ method: 'GET', url: `/wechat/oauth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}` });

describe('POST /v1/contacts/{id}/wechat-binding', () => {
  it('answers a signed scene, its QR code and the web-authorisation link', async () => {
    const id = await contact('qr@example.com');
    const started = Date.now();
    const binding = await call(h, 'POST', `/v1/contacts/${id}/wechat-binding`, undefined, 201);
    expect(Object.keys(binding).sort()).toEqual(['authorizeUrl', 'expiresAt', 'qrCodeUrl', 'scene']);
    expect(binding.scene.length).toBeLessThanOrEqual(64);
    expect(verifyBindingScene(h.app.deps.signingSecret, binding.scene)).toBe(id);
    const expires = Date.parse(binding.expiresAt) - started;
    expect(expires).toBeGreaterThan(7 * 86_400_000 - 60_000);
    expect(expires).toBeLessThanOrEqual(7 * 86_400_000 + 1000);

    const qr = fake.qrCodes.at(-1)!;
    expect(qr).toMatchObject({ scene: binding.scene, expireSeconds: 7 * 86_400 });
    expect(binding.qrCodeUrl).toBe(`https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=${encodeURIComponent(qr.ticket)}`);
    expect(binding.authorizeUrl).toBe(
      `https://open.weixin.qq.com/connect/oauth2/authorize?appid=${APP.appId}` +
        `&redirect_uri=${encodeURIComponent(`${PUBLIC}/wechat/oauth/callback`)}` +
        `&response_type=code&scope=snsapi_base&state=${encodeURIComponent(binding.scene)}#wechat_redirect`,
    );
    // Nothing is bound until someone follows.
    expect((await getContact(h.t.db, id))!.wechatOpenid).toBeNull();
  });

  it('binds the openid of whoever follows through the QR code', async () => {
    const id = await contact('follow@example.com');
    const other = await contact('scan@example.com');
    await call(h, 'POST', `/v1/contacts/${id}/wechat-binding`, undefined, 201);
    const first = fake.qrCodes.at(-1)!;
    await call(h, 'POST', `/v1/contacts/${other}/wechat-binding`, undefined, 201);
    const second = fake.qrCodes.at(-1)!;
    expect(await fake.scanQrCode(first.ticket, 'oQrFollower001')).toEqual([{ status: 200, body: 'success' }]);
    await fake.scanQrCode(second.ticket, 'oQrScanner0001', { following: true });
    expect(await getContact(h.t.db, id)).toMatchObject({ wechatOpenid: 'oQrFollower001', optedOut: [] });
    expect(await getContact(h.t.db, other)).toMatchObject({ wechatOpenid: 'oQrScanner0001' });
  });

  it('answers 404 for an unknown contact and 401 without a key, asking nothing of WeChat', async () => {
    const made = fake.qrCodes.length;
    const res = await h.app.inject({ method: 'POST', url: '/v1/contacts/999999999/wechat-binding', headers: h.auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
    expect((await h.app.inject({ method: 'POST', url: '/v1/contacts/1/wechat-binding' })).statusCode).toBe(401);
    expect(fake.qrCodes).toHaveLength(made);
  });
});

describe('GET /wechat/oauth/callback', () => {
  it('exchanges the code and binds the openid to the contact the state names', async () => {
    const id = await contact('oauth@example.com');
    const { scene } = await call(h, 'POST', `/v1/contacts/${id}/wechat-binding`, undefined, 201);
    const res = await callback(fake.issueOauthCode('oOauthUser0001'), scene);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('微信绑定成功');
    expect(res.body).toContain('WeChat linked');
    expect(await getContact(h.t.db, id)).toMatchObject({ wechatOpenid: 'oOauthUser0001' });
  });

  it('a forged or expired state gets the 400 page: no call to WeChat, nothing written', async () => {
    const id = await contact('oauth-forged@example.com');
    const forged = signBindingScene('an-attacker-secret-of-32-characters-or-more', id, new Date(Date.now() + 3_600_000));
    const expired = signBindingScene(h.app.deps.signingSecret, id, new Date(Date.now() - 1000));
    const exchanges = fake.oauthRequests.length;
    const before = await tableCounts(h.t);
    for (const state of [forged, expired, 'b.1.zz.AAAAAAAAAAAAAAAA', 'anything']) {
      const res = await callback(fake.issueOauthCode('oOauthIntruder'), state);
      expect(res.statusCode, state).toBe(400);
      expect(res.body).toContain('链接无效或已过期');
    }
    expect(fake.oauthRequests).toHaveLength(exchanges);
    expect(await tableCounts(h.t)).toEqual(before);
    expect((await getContact(h.t.db, id))!.wechatOpenid).toBeNull();
  });

  it('a code WeChat refuses (already used) gets a 400 page and writes nothing', async () => {
    const id = await contact('oauth-reused@example.com');
    const { scene } = await call(h, 'POST', `/v1/contacts/${id}/wechat-binding`, undefined, 201);
    const code = fake.issueOauthCode('oOauthReused01');
    expect((await callback(code, scene)).statusCode).toBe(200);
    const other = await contact('oauth-reused-2@example.com');
    const { scene: otherScene } = await call(h, 'POST', `/v1/contacts/${other}/wechat-binding`, undefined, 201);
    const before = await tableCounts(h.t);
    const res = await callback(code, otherScene);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('授权未完成');
    expect(await tableCounts(h.t)).toEqual(before);
    expect((await getContact(h.t.db, other))!.wechatOpenid).toBeNull();
  });

  it('a contact deleted since gets a 404 page', async () => {
    const id = await contact('oauth-gone@example.com');
    const { scene } = await call(h, 'POST', `/v1/contacts/${id}/wechat-binding`, undefined, 201);
    await call(h, 'DELETE', `/v1/contacts/${id}`, undefined, 204);
    const res = await callback(fake.issueOauthCode('oOauthGone0001'), scene);
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('联系人不存在');
  });

  it('refuses a callback without code or state with 400', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/wechat/oauth/callback?state=x' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toContainEqual({ path: 'querystring.code', code: 'required' });
  });
});

describe('binding when WeChat is missing or down', () => {
  it('answers 409 wechat_not_configured without WeChat settings', async () => {
    const bare = await buildTestApp();
    try {
      const world = await seedWorld(bare, [{ email: 'nowechat@example.com' }]);
      const res = await bare.app.inject({
        method: 'POST',
        url: `/v1/contacts/${world.enterprises[0].contact.id}/wechat-binding`,
        headers: bare.auth,
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('wechat_not_configured');
      const cb = await bare.app.inject({ method: 'GET', url: '/wechat/oauth/callback?code=c&state=s' });
      expect(cb.statusCode).toBe(404);
      expect(cb.json().error.code).toBe('wechat_not_configured');
    } finally {
      await bare.close();
    }
  });

  it('answers 502 wechat_unavailable, and the unavailable page, when WeChat cannot be reached', async () => {
    const down = await startFakeWechat(APP);
    const url = down.url;
    await down.close();
    const off = await buildTestApp(env(url));
    try {
      const world = await seedWorld(off, [{ email: 'down@example.com' }]);
      const id = world.enterprises[0].contact.id;
      const res = await off.app.inject({ method: 'POST', url: `/v1/contacts/${id}/wechat-binding`, headers: off.auth });
      expect(res.statusCode).toBe(502);
      expect(res.json().error.code).toBe('wechat_unavailable');
      const scene = signBindingScene(off.app.deps.signingSecret, Number(id), new Date(Date.now() + 3_600_000));
      const cb = await off.app.inject({ method: 'GET', url: `/wechat/oauth/callback?code=c&state=${scene}` });
      expect(cb.statusCode).toBe(502);
      expect(cb.body).toContain('暂时无法完成绑定');
    } finally {
      await off.close();
    }
  });
});
