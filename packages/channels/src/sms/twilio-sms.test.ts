// The Twilio adapter through the real SDK, over HTTP, against the fake Twilio of the testkit.
import { type FakeTwilio, startFakeTwilio } from '@policy-push/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelAdapter, OutboundMessage } from '../channel';
import { deliveryContext } from '../delivery-context.fixture';
import { renderOutbound } from '../render';
import { classifyTwilioError, createTwilioSmsAdapter, parseRetryAfter, type TwilioSettings } from './twilio-sms';

const STATUS_CALLBACK = 'https://push.example.org/webhooks/twilio/status';
const TO = '+12025550150';

let fake: FakeTwilio;
beforeAll(async () => {
  fake = await startFakeTwilio();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.messages.length = 0;
  fake.setBehaviour({ latencyMs: 0, rateLimitNext: 0, retryAfterSeconds: undefined, errorsByTo: {}, hang: false, autoStatus: null });
});

function adapter(settings: Partial<TwilioSettings> = {}, timeoutMs = 2_000): ChannelAdapter {
  return createTwilioSmsAdapter({
    settings: {
      accountSid: fake.accountSid,
      authToken: fake.authToken,
      from: '+15005550006',
      apiUrl: fake.url,
      segmentsPerSecond: 10,
      ...settings,
    },
    timeoutMs,
    statusCallbackUrl: STATUS_CALLBACK,
  });
}

const sms = (to = TO) => renderOutbound(deliveryContext('sms', to)) as Extract<OutboundMessage, { channel: 'sms' }>;

describe('twilio sms adapter: accepted', () => {
  it('posts To, From, Body and StatusCallback with basic auth, and answers the sid', async () => {
    const message = sms();
    const result = await adapter().send(message);

    expect(fake.messages).toHaveLength(1);
    const [received] = fake.messages;
    expect(received.auth).toEqual({ username: fake.accountSid, password: fake.authToken });
    expect(received.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(received.form.To).toBe(TO);
    expect(received.form.From).toBe('+15005550006');
    expect(received.form.Body).toBe(message.content.text);
    expect(received.form.StatusCallback).toBe(STATUS_CALLBACK);
    expect(Object.keys(received.form).sort()).toEqual(['Body', 'From', 'StatusCallback', 'To']);

    expect(result.outcome).toBe('accepted');
    if (result.outcome !== 'accepted') return;
    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(result.providerMessageId).toBe(received.sid);
    expect(result.raw).toEqual({ sid: received.sid, status: 'queued', num_segments: String(message.content.segments) });
  });

  it('sends MessagingServiceSid instead of From when a messaging service is configured', async () => {
    const messagingServiceSid = `MG${'ab'.repeat(16)}`;
    const result = await adapter({ from: undefined, messagingServiceSid }).send(sms());
    const [received] = fake.messages;
    expect(received.form.MessagingServiceSid).toBe(messagingServiceSid);
    expect(received.form.From).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'accepted', raw: { status: 'accepted' } });
  });

  it('sends over a few kept-alive connections, never more than maxConnections at once', async () => {
    // A fake of its own: the other tests' adapters may still hold connections to the shared one.
    const own = await startFakeTwilio();
    const a = createTwilioSmsAdapter({
      settings: { accountSid: own.accountSid, authToken: own.authToken, from: '+15005550006', apiUrl: own.url, segmentsPerSecond: 10 },
      timeoutMs: 2_000,
      statusCallbackUrl: STATUS_CALLBACK,
      maxConnections: 3,
    });
    for (let batch = 0; batch < 2; batch++) {
      const results = await Promise.all(Array.from({ length: 12 }, () => a.send(sms())));
      expect(results.map((r) => r.outcome)).toEqual(Array(12).fill('accepted'));
    }
    // Three at most, reused by both batches.
    expect(own.stats.connections).toBeLessThanOrEqual(3);
    expect(own.stats.maxOpen).toBeLessThanOrEqual(3);
    await a.close!();
    await own.close();
  });

  it('refuses a message Twilio would refuse without calling it', async () => {
    const email = renderOutbound(deliveryContext('email', 'someone@example.com'));
    expect(await adapter().send(email)).toMatchObject({ outcome: 'permanent', code: 'INVALID_MESSAGE' });
    expect(await adapter().send({ ...sms(), to: '12345' })).toMatchObject({ outcome: 'permanent', code: 'INVALID_MESSAGE' });
    expect(fake.messages).toEqual([]);
  });
});

describe('twilio sms adapter: errors', () => {
  it('21211 invalid To: permanent', async () => {
    fake.setBehaviour({ errorsByTo: { [TO]: 21211 } });
    const result = await adapter().send(sms());
    expect(result).toMatchObject({ outcome: 'permanent', code: '21211', raw: { status: 400, code: 21211 } });
    expect(result.outcome === 'permanent' && (result.optOut || result.configError)).toBeFalsy();
    // Twilio names the number in this message; the result, which goes to attempts and logs, does not.
    expect(result.outcome === 'permanent' && result.message).toBe("twilio 21211: The 'To' number [number] is not a valid phone number.");
    expect(JSON.stringify(result)).not.toContain('2025550150');
  });

  it.each([21614, 30004, 30005, 30006, 30007])('%i: permanent', async (code) => {
    fake.setBehaviour({ errorsByTo: { [TO]: code } });
    expect(await adapter().send(sms())).toMatchObject({ outcome: 'permanent', code: String(code) });
  });

  it('21610 the recipient opted out: permanent, and opt them out', async () => {
    fake.setBehaviour({ errorsByTo: { [TO]: 21610 } });
    expect(await adapter().send(sms())).toMatchObject({ outcome: 'permanent', code: '21610', optOut: true });
  });

  it('429: retryable, pauses the channel for the Retry-After it was given', async () => {
    fake.setBehaviour({ rateLimitNext: 1, retryAfterSeconds: 7 });
    const result = await adapter().send(sms());
    expect(result).toEqual({
      outcome: 'retryable',
      code: '20429',
      message: expect.stringContaining('Too Many Requests'),
      pauseChannel: true,
      retryAfterMs: 7_000,
      raw: { status: 429, code: 20429, message: 'Too Many Requests' },
    });
    // Only the next call was limited: the one after goes through.
    expect((await adapter().send(sms())).outcome).toBe('accepted');
  });

  it('429 without Retry-After: retryable and paused, with no wait of its own', async () => {
    fake.setBehaviour({ rateLimitNext: 1 });
    const result = await adapter().send(sms());
    expect(result).toMatchObject({ outcome: 'retryable', code: '20429', pauseChannel: true });
    expect(result.outcome === 'retryable' && result.retryAfterMs).toBeUndefined();
  });

  it.each([30003, 30008, 30001, 21611])('%i: retryable, not a pause', async (code) => {
    fake.setBehaviour({ errorsByTo: { [TO]: code } });
    const result = await adapter().send(sms());
    expect(result).toMatchObject({ outcome: 'retryable', code: String(code) });
    expect(result.outcome === 'retryable' && result.pauseChannel).toBeFalsy();
  });

  it('20003 wrong credentials: permanent configuration error', async () => {
    const result = await adapter({ authToken: 'not-the-token' }).send(sms());
    expect(fake.messages[0].answered).toBe(401);
    expect(result).toMatchObject({ outcome: 'permanent', code: '20003', configError: true });
  });

  it('no answer: retryable once the short timeout passes', async () => {
    fake.setBehaviour({ hang: true });
    const result = await adapter({}, 200).send(sms());
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0].answered).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'retryable', code: 'TIMEOUT' });
  });

  it('connection refused: retryable', async () => {
    const closed = await startFakeTwilio();
    await closed.close();
    const result = await adapter({ apiUrl: closed.url }).send(sms());
    expect(result).toMatchObject({ outcome: 'retryable', code: 'NETWORK_ERROR' });
  });
});

describe('classifyTwilioError', () => {
  const rest = (status: number, code?: number) => Object.assign(new Error('x'), { status, code, title: 'x' });

  it('retries an unlisted 5xx and refuses an unlisted 4xx', () => {
    expect(classifyTwilioError(rest(503, 20503))).toMatchObject({ outcome: 'retryable', code: '20503' });
    expect(classifyTwilioError(rest(400, 21408))).toMatchObject({ outcome: 'permanent', code: '21408' });
    expect(classifyTwilioError(rest(400, 21408))).not.toHaveProperty('configError');
    expect(classifyTwilioError(rest(404, 20404))).toMatchObject({ outcome: 'permanent', configError: true });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-06T01:30:00Z');
  it('reads seconds and HTTP dates, in milliseconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Mon, 06 May 2024 01:30:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Mon, 06 May 2024 01:29:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
