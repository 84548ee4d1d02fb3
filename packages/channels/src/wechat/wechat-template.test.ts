import { cutToLimit, type ProviderSettings } from '@policy-push/core';
import { type FakeWechat, startFakeWechat } from '@policy-push/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../channel';
import { deliveryContext } from '../delivery-context.fixture';
import { renderOutbound } from '../render';
import { wechatKeyType } from '../sandbox/validate-message';
import { createWechatAdapter, untilShanghaiMidnight } from './wechat-template';
import { memoryTokenStore } from './memory-token-store.fixture';
import { createWechatTokenSource, type TokenStore } from './wechat-token';

const APP = { appId: 'wxsend0000000001', appSecret: 'send-test-secret', token: 'callback-token' };
const TEMPLATE = {
  templateId: 'tpl-policy-notice',
  fields: [
    { key: 'thing1', type: 'thing' },
    { key: 'thing2', type: 'thing' },
    { key: 'time3', type: 'time' },
    { key: 'character_string4', type: 'character_string' },
    { key: 'phrase5', type: 'phrase' },
  ],
};
// 23:30 in Shanghai: the daily quota resets in 30 minutes.
const NOW = Date.parse('2024-05-06T15:30:00Z');

let fake: FakeWechat;
// The token cache every adapter of a test shares, as dispatchers share Postgres.
let store: TokenStore;
beforeEach(async () => {
  fake = await startFakeWechat({ ...APP, templateIds: [TEMPLATE.templateId] });
  store = memoryTokenStore();
});
afterEach(async () => {
  await fake.close();
});

type WechatSettings = NonNullable<ProviderSettings['wechat']>;
function adapter(opts: { timeoutMs?: number; settings?: Partial<WechatSettings>; maxConnections?: number } = {}) {
  const settings = { ...APP, apiUrl: fake.url, dailyQuota: 100_000, perSecond: 200, ...opts.settings };
  const timeoutMs = opts.timeoutMs ?? 2000;
  const tokens = createWechatTokenSource({ store, settings, timeoutMs });
  return createWechatAdapter({ settings, timeoutMs, tokens, maxConnections: opts.maxConnections, now: () => new Date(NOW) });
}

const message = (to = 'oFollower000001', title = '关于支持中小企业数字化转型和智能化改造升级的若干措施') => {
  const ctx = deliveryContext('wechat', to);
  return renderOutbound({
    ...ctx,
    policy: { ...ctx.policy, title },
    department: { ...ctx.department, wechatTemplate: TEMPLATE },
  }) as Extract<OutboundMessage, { channel: 'wechat' }>;
};

describe('the WeChat template adapter', () => {
  it('sends the rendered template, field by field, and keeps the msgid exact', async () => {
    const msg = message();
    const result = await adapter().send(msg);
    expect(result).toMatchObject({ outcome: 'accepted', providerMessageId: '3147483648123456789' });
    // Above 2^53: a JSON number would have lost its last digits.
    expect(BigInt((result as { providerMessageId: string }).providerMessageId) > 2n ** 53n).toBe(true);
    expect(fake.messages.map((m) => m.msgid)).toEqual(['3147483648123456789']);

    expect(fake.sent).toHaveLength(1);
    const body = fake.sent[0];
    expect(Object.keys(body).sort()).toEqual(['client_msg_id', 'data', 'template_id', 'touser', 'url']);
    expect(body.touser).toBe('oFollower000001');
    expect(body.template_id).toBe('tpl-policy-notice');
    expect(body.url).toBe('https://push.example.org/l/abc123');
    expect(body.client_msg_id).toBe(msg.deliveryId);
    expect(Object.keys(body.data!)).toEqual(['thing1', 'thing2', 'time3', 'character_string4', 'phrase5']);
    expect(body.data).toEqual(msg.content.data);
    // Each value within its type's limits: the long title arrives cut, not refused.
    for (const [key, { value }] of Object.entries(body.data!)) {
      expect(typeof value).toBe('string');
      expect(cutToLimit(value as string, wechatKeyType(key))).toBe(value);
    }
    expect([...(body.data!.thing1.value as string)]).toHaveLength(20);
    expect(body.data!.time3.value).toBe('2024年5月6日 09:30');
    expect(body.data!.character_string4.value).toBe('穗发改〔2024〕17号');
  });

  it('retries a temporary failure with the same client_msg_id: one message reaches the user', async () => {
    const a = adapter();
    const msg = message();
    fake.setBehaviour({ nextErrors: [-1] });
    expect(await a.send(msg)).toMatchObject({ outcome: 'retryable', code: '-1' });
    expect(await a.send(msg)).toMatchObject({ outcome: 'accepted' });
    expect(await a.send(msg)).toMatchObject({ outcome: 'accepted', providerMessageId: fake.messages[0].msgid });
    expect(fake.sent.map((b) => b.client_msg_id)).toEqual([msg.deliveryId, msg.deliveryId, msg.deliveryId]);
    expect(fake.messages).toHaveLength(1);
  });

  it('sends over a few kept-alive connections, never more than maxConnections at once', async () => {
    const a = adapter({ maxConnections: 3 });
    // The token first: fetched over a connection of its own (undici's global dispatcher).
    expect(await a.send(message())).toMatchObject({ outcome: 'accepted' });
    const opened = fake.stats.connections;
    for (let batch = 0; batch < 2; batch++) {
      const results = await Promise.all(Array.from({ length: 12 }, () => a.send(message())));
      expect(results.map((r) => r.outcome)).toEqual(Array(12).fill('accepted'));
    }
    // The first send's connection plus at most two more, reused by both batches.
    expect(fake.stats.connections - opened).toBeLessThanOrEqual(2);
    expect(fake.stats.maxOpen).toBeLessThanOrEqual(3 + 1);
    await a.close!();
  });

  describe('each errcode as CHANNELS.md says', () => {
    const cases: [number, object][] = [
      [-1, { outcome: 'retryable' }],
      [45011, { outcome: 'retryable' }],
      [40251, { outcome: 'retryable' }],
      [40252, { outcome: 'retryable' }],
      [45009, { outcome: 'retryable', pauseChannel: true, retryAfterMs: 30 * 60_000 }],
      [40003, { outcome: 'permanent' }],
      [43004, { outcome: 'permanent' }],
      [43019, { outcome: 'permanent', optOut: true }],
      ...[40036, 40037, 47001, 47003, 40249, 40250, 43116, 48001, 40164, 40013, 40125].map((c): [number, object] => [
        c,
        { outcome: 'permanent', configError: true },
      ]),
      [99999, { outcome: 'permanent', configError: true }],
    ];
    it.each(cases)(
      '%i',
      async (errcode, expected) => {
        const result = await adapter().send(message(`oErr${String(errcode).replace('-', 'm')}00001`));
        expect(fake.sent).toHaveLength(1);
        expect(result).toMatchObject({ code: String(errcode), ...expected, raw: { errcode } });
        const flags = result as { pauseChannel?: boolean; optOut?: boolean; configError?: boolean };
        for (const flag of ['pauseChannel', 'optOut', 'configError'] as const) {
          if (!(flag in expected)) expect(flags[flag]).toBeUndefined();
        }
      },
      10_000,
    );
    beforeEach(() => {
      const errorFor: Record<string, number> = {};
      for (const [errcode] of cases) errorFor[`oErr${String(errcode).replace('-', 'm')}00001`] = errcode;
      fake.setBehaviour({ errorFor });
    });
  });

  it('a value beyond its field’s limits is stopped before WeChat, as a configuration error', async () => {
    const msg = message();
    msg.content.data.thing1 = { value: '一'.repeat(21) };
    // The renderer would never do this; the adapter's own check stops it before WeChat does.
    expect(await adapter().send(msg)).toMatchObject({ outcome: 'permanent', code: 'INVALID_MESSAGE', configError: true });
    expect(fake.sent).toHaveLength(0);
  });

  it('refuses to send a department without a WeChat template', async () => {
    const ctx = deliveryContext('wechat', 'oFollower000001');
    expect(await adapter().send(renderOutbound(ctx))).toMatchObject({ outcome: 'permanent', code: 'NO_TEMPLATE', configError: true });
    expect(fake.sent).toHaveLength(0);
  });

  it('survives the token expiring mid-run: 42001, a forced refresh, success', async () => {
    const a = adapter();
    expect((await a.send(message())).outcome).toBe('accepted');
    fake.expireTokens();
    expect(await a.send(message())).toMatchObject({ outcome: 'accepted' });
    expect(fake.tokenRequests).toEqual([{ force: false }, { force: true }]);
    expect(fake.messages).toHaveLength(2);
  });

  it('refreshes once when many sends on several dispatchers meet the expired token together', async () => {
    const dispatchers = [adapter(), adapter()];
    await Promise.all(dispatchers.map((d) => d.send(message())));
    fake.expireTokens();
    const results = await Promise.all(dispatchers.flatMap((d) => Array.from({ length: 5 }, () => d.send(message()))));
    expect(results.map((r) => r.outcome)).toEqual(Array(10).fill('accepted'));
    expect(fake.tokenRequests.filter((r) => r.force)).toHaveLength(1);
    expect(fake.messages).toHaveLength(12);
  });

  it('picks up a token another dispatcher refreshed, without refreshing again', async () => {
    const a = adapter();
    const b = adapter();
    await a.send(message());
    // b forces a refresh (say after its own 40001): a's remembered token is now invalid.
    const tokens = createWechatTokenSource({
      store,
      settings: { ...APP, apiUrl: fake.url, dailyQuota: 1, perSecond: 1 },
      timeoutMs: 2000,
    });
    await tokens.refresh(true);
    expect(await a.send(message())).toMatchObject({ outcome: 'accepted' });
    expect(await b.send(message())).toMatchObject({ outcome: 'accepted' });
    expect(fake.tokenRequests).toEqual([{ force: false }, { force: true }]);
  });

  it('a send that times out is retryable, and its retry does not send twice', async () => {
    const a = adapter({ timeoutMs: 300 });
    const msg = message();
    await a.send(message()); // token fetched before the fake starts hanging
    fake.setBehaviour({ hang: 1 });
    expect(await a.send(msg)).toMatchObject({ outcome: 'retryable', code: 'TIMEOUT' });
    const taken = fake.messages.at(-1)!;
    expect(taken.body.client_msg_id).toBe(msg.deliveryId);
    expect(await a.send(msg)).toMatchObject({ outcome: 'accepted', providerMessageId: taken.msgid });
    expect(fake.messages).toHaveLength(2);
  });

  it('an unreachable API is retryable', async () => {
    const url = fake.url;
    await fake.close();
    expect(await adapter({ settings: { apiUrl: url } }).send(message())).toMatchObject({ outcome: 'retryable', code: 'NETWORK_ERROR' });
    fake = await startFakeWechat(APP);
  });

  it('credentials WeChat refuses are a configuration error, the token never fetched', async () => {
    const result = await adapter({ settings: { appSecret: 'wrong-secret' } }).send(message());
    expect(result).toMatchObject({ outcome: 'permanent', code: '40125', configError: true });
    expect(fake.sent).toHaveLength(0);
  });

  it('the daily quota pauses until the next midnight in Shanghai', () => {
    expect(untilShanghaiMidnight(new Date('2024-05-06T15:30:00Z'))).toBe(30 * 60_000);
    expect(untilShanghaiMidnight(new Date('2024-05-06T16:00:00Z'))).toBe(24 * 3_600_000);
    expect(untilShanghaiMidnight(new Date('2024-05-06T00:00:00Z'))).toBe(16 * 3_600_000);
  });
});
