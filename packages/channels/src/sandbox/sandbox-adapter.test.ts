import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Channel, ChannelAdapter, OutboundMessage, Receipt } from '../channel';
import { deliveryContext } from '../delivery-context.fixture';
import { renderOutbound } from '../render';
import { MAGIC_RECIPIENTS, type MagicOutcome } from './magic-recipients';
import { createSandboxAdapter, type SandboxAdapterOptions } from './sandbox-adapter';
import { memoryRecorder } from './sandbox-recorder';

const ADDRESSES: Record<Channel, Record<MagicOutcome, string>> = {
  sms: { accepted: '+12025550150', ...magic('sms') },
  email: { accepted: 'someone@example.com', ...magic('email') },
  wechat: { accepted: 'oAbC-real-openid', ...magic('wechat') },
};

function magic(channel: Channel): Omit<Record<MagicOutcome, string>, 'accepted'> {
  const entries = MAGIC_RECIPIENTS.filter((r) => r.outcome !== 'accepted').map((r) => [r.outcome, r[channel]]);
  return Object.fromEntries(entries);
}

const adapters: ChannelAdapter[] = [];
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.close?.()));
});

function setup(channel: Channel, options: Partial<SandboxAdapterOptions> = {}) {
  const recorder = memoryRecorder();
  const receipts: Receipt[] = [];
  const waiters: (() => void)[] = [];
  const sleep = vi.fn(async (_ms: number) => {});
  const adapter = createSandboxAdapter(channel, {
    recorder,
    onReceipt: (r) => {
      receipts.push(r);
      waiters.splice(0).forEach((w) => w());
    },
    receiptDelayMs: 1,
    sleep,
    ...options,
  });
  adapters.push(adapter);
  const receipt = async (providerMessageId: string) => {
    for (;;) {
      const found = receipts.find((r) => r.providerMessageId === providerMessageId);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { adapter, recorder, receipts, receipt, sleep };
}

const message = (channel: Channel, to: string) => renderOutbound(deliveryContext(channel, to));

describe.each(['sms', 'email', 'wechat'] as Channel[])('sandbox %s adapter', (channel) => {
  const to = ADDRESSES[channel];

  it('is the sandbox provider for its channel', () => {
    const { adapter } = setup(channel);
    expect(adapter).toMatchObject({ channel, provider: 'sandbox' });
  });

  it('accepts any other recipient, records the message and sends a delivered receipt', async () => {
    const { adapter, recorder, receipt } = setup(channel);
    const msg = message(channel, to.accepted);
    const result = await adapter.send(msg);
    expect(result.outcome).toBe('accepted');
    if (result.outcome !== 'accepted') return;
    expect(result.providerMessageId).toMatch(new RegExp(`^sandbox-${channel}-[0-9a-f]+$`));
    expect(recorder.entries).toEqual([
      { deliveryId: msg.deliveryId, channel, recipient: to.accepted, content: msg.content, outcome: 'accepted' },
    ]);
    const r = await receipt(result.providerMessageId);
    expect(r).toMatchObject({ channel, providerMessageId: result.providerMessageId, status: 'delivered' });
    expect(r.errorCode).toBeUndefined();
    expect(r.occurredAt).toBeInstanceOf(Date);
  });

  it('temporary: always retryable', async () => {
    const { adapter, recorder, receipts } = setup(channel);
    const msg = message(channel, to.temporary);
    for (let i = 0; i < 3; i++) {
      expect(await adapter.send(msg)).toMatchObject({ outcome: 'retryable', code: 'SANDBOX_TEMPORARY' });
    }
    expect(recorder.entries.map((e) => e.outcome)).toEqual(['retryable', 'retryable', 'retryable']);
    expect(receipts).toEqual([]);
  });

  it('flaky: retryable on the first send of a delivery id, accepted afterwards', async () => {
    const { adapter, receipt } = setup(channel);
    const first = message(channel, to.flaky);
    expect(await adapter.send(first)).toMatchObject({ outcome: 'retryable', code: 'SANDBOX_TEMPORARY' });
    const retry = await adapter.send(first);
    expect(retry.outcome).toBe('accepted');
    if (retry.outcome === 'accepted') expect((await receipt(retry.providerMessageId)).status).toBe('delivered');
    expect(await adapter.send(first)).toMatchObject({ outcome: 'accepted' });
    // another delivery to the same recipient fails once again
    expect(await adapter.send(message(channel, to.flaky))).toMatchObject({ outcome: 'retryable' });
  });

  it('flaky: remembers the delivery id across adapters of the process', async () => {
    const msg = message(channel, to.flaky);
    expect((await setup(channel).adapter.send(msg)).outcome).toBe('retryable');
    expect((await setup(channel).adapter.send(msg)).outcome).toBe('accepted');
  });

  it('permanent: refused for good', async () => {
    const { adapter, recorder } = setup(channel);
    const result = await adapter.send(message(channel, to.permanent));
    expect(result).toMatchObject({ outcome: 'permanent', code: 'SANDBOX_PERMANENT' });
    expect(result.outcome === 'permanent' && result.optOut).toBeFalsy();
    expect(recorder.entries[0]).toMatchObject({ recipient: to.permanent, outcome: 'permanent' });
  });

  it('opted-out: permanent with optOut', async () => {
    const { adapter } = setup(channel);
    expect(await adapter.send(message(channel, to['opted-out']))).toMatchObject({
      outcome: 'permanent',
      code: 'SANDBOX_OPTED_OUT',
      optOut: true,
    });
  });

  it('slow: accepted after the configured delay', async () => {
    const { adapter, sleep, receipt } = setup(channel, { slowMs: 25 });
    const result = await adapter.send(message(channel, to.slow));
    expect(sleep).toHaveBeenCalledWith(25);
    expect(result.outcome).toBe('accepted');
    if (result.outcome === 'accepted') expect((await receipt(result.providerMessageId)).status).toBe('delivered');
  });

  it('slow: waits 2 s by default, and only for the slow recipient', async () => {
    const { adapter, sleep } = setup(channel);
    await adapter.send(message(channel, to.accepted));
    expect(sleep).not.toHaveBeenCalled();
    await adapter.send(message(channel, to.slow));
    expect(sleep).toHaveBeenCalledWith(2000);
  });

  it('undelivered: accepted, then an undelivered receipt', async () => {
    const { adapter, receipt } = setup(channel);
    const result = await adapter.send(message(channel, to.undelivered));
    expect(result.outcome).toBe('accepted');
    if (result.outcome !== 'accepted') return;
    expect(await receipt(result.providerMessageId)).toMatchObject({
      channel,
      status: 'undelivered',
      errorCode: 'SANDBOX_UNDELIVERED',
    });
  });

  it('gives every accepted message its own provider id', async () => {
    const { adapter } = setup(channel);
    const results = await Promise.all([1, 2, 3].map(() => adapter.send(message(channel, to.accepted))));
    const ids = results.map((r) => (r.outcome === 'accepted' ? r.providerMessageId : null));
    expect(new Set(ids).size).toBe(3);
  });

  it('refuses a message of another channel', async () => {
    const other: Channel = channel === 'sms' ? 'email' : 'sms';
    const { adapter, recorder } = setup(channel);
    const result = await adapter.send(message(other, ADDRESSES[other].accepted));
    expect(result).toMatchObject({ outcome: 'permanent', code: 'SANDBOX_INVALID_MESSAGE' });
    expect(recorder.entries).toEqual([]);
  });
});

describe('receipts', () => {
  it('are dropped when the adapter closes before they are due', async () => {
    const onReceipt = vi.fn();
    const adapter = createSandboxAdapter('sms', { recorder: memoryRecorder(), onReceipt, receiptDelayMs: 5 });
    await adapter.send(message('sms', '+12025550150'));
    await adapter.close?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(onReceipt).not.toHaveBeenCalled();
  });

  it('a failing receipt handler is reported, not thrown', async () => {
    const errors: unknown[] = [];
    let done!: () => void;
    const reported = new Promise<void>((resolve) => (done = resolve));
    const adapter = createSandboxAdapter('email', {
      recorder: memoryRecorder(),
      receiptDelayMs: 1,
      onReceipt: async () => {
        throw new Error('webhook down');
      },
      onError: (err) => {
        errors.push(err);
        done();
      },
    });
    adapters.push(adapter);
    expect((await adapter.send(message('email', 'someone@example.com'))).outcome).toBe('accepted');
    await reported;
    expect(errors).toEqual([new Error('webhook down')]);
  });
});

describe('invalid messages', () => {
  const invalid = async (msg: OutboundMessage) => {
    const { adapter, recorder } = setup(msg.channel);
    const result = await adapter.send(msg);
    expect(recorder.entries).toEqual([]);
    return result;
  };
  const refused = { outcome: 'permanent', code: 'SANDBOX_INVALID_MESSAGE' };
  const sms = message('sms', '+12025550150') as Extract<OutboundMessage, { channel: 'sms' }>;
  const email = message('email', 'someone@example.com') as Extract<OutboundMessage, { channel: 'email' }>;
  const wechat = message('wechat', 'oAbC') as Extract<OutboundMessage, { channel: 'wechat' }>;

  it('are refused even for magic recipients', async () => {
    const bad = { ...sms, to: '+12025550101', content: { text: '', segments: 0 } };
    expect(await invalid(bad)).toMatchObject(refused);
  });

  it.each([
    ['a number that is not E.164', { ...sms, to: '07700900100' }],
    ['a number too short to exist', { ...sms, to: '+4477009' }],
    ['an empty text', { ...sms, content: { text: '  ', segments: 1 } }],
    ['a text over 1600 characters', { ...sms, content: { text: 'a'.repeat(1601), segments: 11 } }],
    ['a wrong segment count', { ...sms, content: { ...sms.content, segments: sms.content.segments + 1 } }],
  ])('sms: %s', async (_name, msg) => {
    expect(await invalid(msg as OutboundMessage)).toMatchObject(refused);
  });

  it('sms: 1600 characters in the right number of segments pass', async () => {
    const text = 'a'.repeat(1600);
    const { adapter } = setup('sms');
    expect((await adapter.send({ ...sms, content: { text, segments: 11 } })).outcome).toBe('accepted');
  });

  it.each([
    ['a thing over 20 characters', { thing1: { value: '一二三四五六七八九十一二三四五六七八九十一' } }],
    ['a phrase over 5 characters', { phrase5: { value: '政策更新通知' } }],
    ['a character_string over 32 characters', { character_string4: { value: 'x'.repeat(33) } }],
    ['a line break in a keyword', { keyword1: { value: '第一行\n第二行' } }],
    ['a time that is not a time', { time3: { value: '明天上午' } }],
    ['a date that is not a date', { date2: { value: '15:30' } }],
    ['a value that is not a string', { thing1: { value: 42 } }],
  ])('wechat: %s', async (_name, data) => {
    const msg = { ...wechat, content: { ...wechat.content, data: { ...wechat.content.data, ...data } } };
    expect(await invalid(msg as OutboundMessage)).toMatchObject(refused);
  });

  it.each([
    ['an empty openid', { to: ' ' }],
    ['no template id', { content: { ...wechat.content, templateId: '' } }],
    ['no data', { content: { ...wechat.content, data: {} } }],
    ['a javascript: url', { content: { ...wechat.content, url: 'javascript:alert(1)' } }],
  ])('wechat: %s', async (_name, patch) => {
    expect(await invalid({ ...wechat, ...patch } as OutboundMessage)).toMatchObject(refused);
  });

  it('wechat: values exactly at their limits pass', async () => {
    const { adapter } = setup('wechat');
    const data = {
      thing1: { value: '一二三四五六七八九十一二三四五六七八九十' },
      phrase2: { value: '政策更新' },
      character_string3: { value: 'x'.repeat(32) },
      time4: { value: '2024年5月6日 09:30' },
      date5: { value: '2024年5月6日' },
      time6: { value: '09:30~18:00' },
    };
    expect((await adapter.send({ ...wechat, content: { ...wechat.content, data } })).outcome).toBe('accepted');
  });

  it.each([
    ['an address without a domain', { to: 'someone@' }],
    ['no subject', { content: { ...email.content, subject: '' } }],
    ['a subject with a line break', { content: { ...email.content, subject: 'a\r\nBcc: x@example.com' } }],
    ['no text part', { content: { ...email.content, text: '' } }],
    ['no html part', { content: { ...email.content, html: '' } }],
    ['no unsubscribe URL', { content: { ...email.content, unsubscribeUrl: '' } }],
  ])('email: %s', async (_name, patch) => {
    expect(await invalid({ ...email, ...patch } as OutboundMessage)).toMatchObject(refused);
  });
});
