// Twilio's webhooks: signatures, receipts (repeated, out of order) and STOP / START, through
// inject() and end to end from the fake Twilio to the listening app.
import { createTwilioSmsAdapter } from '@policy-push/channels';
import { createLogger, parseConfig, smsSegments } from '@policy-push/core';
import { ackDeliveries, claimDeliveries, rowsOf, sql } from '@policy-push/db';
import { type FakeTwilio, startFakeTwilio, freePort } from '@policy-push/testkit';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, contactAudit, seedWorld, tableCounts, type TestApp } from '../../../test/helpers';
import { buildApp } from '../../app';
import { isValidTwilioSignature } from './twilio-webhooks';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'twilio-test-auth-token-0123456789';
const SENDER = '+15005550006';

let fake: FakeTwilio;
let h: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, poolNumber: SENDER });
  // The signature covers the public URL, so the app must know its address before it listens.
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  h = await buildTestApp({
    PUBLIC_BASE_URL: baseUrl,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_FROM: SENDER,
    TWILIO_API_URL: fake.url,
  });
  await h.app.listen({ port, host: '127.0.0.1' });
});
afterAll(async () => {
  await fake.close();
  await h.close();
});

/** POSTs a form through inject(), signed for `signedUrl` (by default the public URL of `path`). */
function post(path: string, params: Record<string, string>, signature: string | null = sign(`${baseUrl}${path}`, params)) {
  return h.app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
    payload: new URLSearchParams(params).toString(),
  });
}
const sign = (url: string, params: Record<string, string>) => twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params);

let phoneSeq = 100;
/** A contact with a phone of its own, through the API. */
async function contactWithPhone(): Promise<{ id: string; enterpriseId: string; phone: string }> {
  const phone = `+1202555${String(phoneSeq++).padStart(4, '0')}`;
  const world = await seedWorld(h, [{ phone, channels: ['sms'] }]);
  return { ...world.enterprises[0].contact, phone };
}
const optedOut = async (contactId: string): Promise<string[]> =>
  (await call(h, 'GET', `/v1/contacts/${contactId}`, undefined, 200)).optedOut;

/** An SMS delivery already accepted by Twilio under `sid`. */
async function sentDelivery(contact: { id: string; enterpriseId: string }, sid: string): Promise<number> {
  const [row] = rowsOf<{ id: string }>(
    await h.t.db.execute(sql`
      insert into deliveries (enterprise_id, contact_id, channel, status, provider_message_id, attempts, sent_at)
      values (${Number(contact.enterpriseId)}, ${Number(contact.id)}, 'sms', 'sent', ${sid}, 1, now()) returning id`),
  );
  return Number(row.id);
}
const deliveryOf = async (id: number) =>
  rowsOf<{ status: string; error_code: string | null }>(
    await h.t.db.execute(sql`select status, error_code from deliveries where id = ${id}`),
  )[0];
const eventsOf = async (sid: string) =>
  rowsOf<{ type: string; delivery_id: string | null; payload: Record<string, unknown> }>(
    await h.t.db.execute(sql`select type, delivery_id, payload from delivery_events where provider_message_id = ${sid} order by id`),
  );
const newSid = () => `SM${Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('')}`;
const statusParams = (sid: string, status: string, extra: Record<string, string> = {}) => ({
  SmsSid: sid,
  SmsStatus: status,
  MessageStatus: status,
  MessageSid: sid,
  AccountSid: ACCOUNT_SID,
  From: SENDER,
  To: '+12025550999',
  ApiVersion: '2010-04-01',
  ...extra,
});

describe('the signature check', () => {
  // CHANNELS.md's known vector, through the function the routes use.
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };

  it('accepts the known vector', () => {
    expect(isValidTwilioSignature('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', url, params)).toBe(true);
  });

  it('refuses it with any part changed, or without a signature', () => {
    expect(isValidTwilioSignature('12346', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', url, params)).toBe(false);
    expect(isValidTwilioSignature('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', url, { ...params, Digits: '1235' })).toBe(false);
    expect(isValidTwilioSignature('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', 'https://mycompany.com/myapp.php?foo=1&bar=3', params)).toBe(
      false,
    );
    expect(isValidTwilioSignature('12345', '1/KCTR6DLpKmkAf8muzZqo1nDgQ=', url, params)).toBe(false);
    expect(isValidTwilioSignature('12345', undefined, url, params)).toBe(false);
    expect(isValidTwilioSignature('12345', '', url, params)).toBe(false);
  });
});

describe('refused requests write nothing', () => {
  const cases = (sid: string) =>
    [
      ['/webhooks/twilio/status', statusParams(sid, 'failed', { ErrorCode: '21610' })],
      ['/webhooks/twilio/inbound', { From: '+12025550100', To: SENDER, Body: 'STOP', MessageSid: sid, AccountSid: ACCOUNT_SID }],
    ] as const;

  it.each(cases(newSid()))('%s: a forged, tampered, misaddressed or missing signature is a 401', async (path, params) => {
    const contact = await contactWithPhone();
    const target = { ...params, ...(path.endsWith('inbound') ? { From: contact.phone } : { To: contact.phone }) };
    await sentDelivery(contact, target.MessageSid);
    const before = await tableCounts(h.t);
    const attempts = [
      post(path, target, 'forged+signature0000000000000='),
      post(path, target, null),
      post(path, target, ''),
      post(path, { ...target, MessageStatus: 'delivered', Body: 'START' }, sign(`${baseUrl}${path}`, target)), // tampered
      post(path, target, sign(`http://localhost${path}`, target)), // signed for the address seen behind a proxy, not the public one
      post(path, target, twilio.getExpectedTwilioSignature('another-token', `${baseUrl}${path}`, target)),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode, res.body).toBe(401);
      expect(res.json()).toEqual({ error: { code: 'invalid_signature', message: expect.any(String), fields: [] } });
    }
    expect(await tableCounts(h.t)).toEqual(before);
    expect(await optedOut(contact.id)).toEqual([]);
  });

  it('logs one warning, without the phone number', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const app = await buildApp({ ...h.app.deps, logger });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/webhooks/twilio/inbound',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'forged' },
        payload: new URLSearchParams({ From: '+12025550177', Body: 'STOP' }).toString(),
      });
      expect(res.statusCode).toBe(401);
    } finally {
      await app.close();
    }
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ msg: 'twilio webhook refused: invalid signature', reason: 'mismatch' });
    expect(lines.join('\n')).not.toContain('2025550177');
  });

  it('a signed status callback without a MessageSid is a 400', async () => {
    const before = await tableCounts(h.t);
    const { MessageSid: _, ...params } = statusParams(newSid(), 'delivered');
    const res = await post('/webhooks/twilio/status', params);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_request', fields: [{ path: 'MessageSid', code: 'required' }] });
    expect(await tableCounts(h.t)).toEqual(before);
  });

  it('form bodies are parsed for these routes only; the API still refuses them', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/departments',
      headers: { ...h.auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'code=x',
    });
    expect(res.statusCode).toBe(415);
    const doc = (await h.app.inject({ url: '/openapi.json' })).json();
    for (const path of ['/webhooks/twilio/status', '/webhooks/twilio/inbound']) {
      expect(Object.keys(doc.paths[path].post.requestBody.content)).toEqual(['application/x-www-form-urlencoded']);
    }
  });

  it('without Twilio configured both routes are a 404', async () => {
    const plain = await buildApp({ ...h.app.deps, config: parseConfig({ LOG_LEVEL: 'silent' }) });
    try {
      for (const path of ['/webhooks/twilio/status', '/webhooks/twilio/inbound']) {
        const res = await plain.inject({
          method: 'POST',
          url: path,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams(statusParams(newSid(), 'delivered')).toString(),
        });
        expect(res.statusCode).toBe(404);
        expect(res.json().error.code).toBe('twilio_not_configured');
      }
    } finally {
      await plain.close();
    }
  });
});

describe('status callbacks', () => {
  it('records delivered, and a late or repeated receipt changes nothing', async () => {
    const contact = await contactWithPhone();
    const sid = newSid();
    const id = await sentDelivery(contact, sid);
    for (const status of ['delivered', 'sent', 'delivered']) {
      const res = await post('/webhooks/twilio/status', statusParams(sid, status, { To: contact.phone }));
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
    }
    expect(await deliveryOf(id)).toEqual({ status: 'delivered', error_code: null });
    const events = await eventsOf(sid);
    expect(events.map((e) => e.type)).toEqual(['delivered', 'sent']);
    expect(events.every((e) => Number(e.delivery_id) === id)).toBe(true);
    // Kept without the phone numbers.
    expect(events[0].payload).toMatchObject({ MessageSid: sid, MessageStatus: 'delivered', AccountSid: ACCOUNT_SID });
    expect(events[0].payload).not.toHaveProperty('To');
    expect(events[0].payload).not.toHaveProperty('From');
  });

  it('records undelivered with its error code', async () => {
    const contact = await contactWithPhone();
    const sid = newSid();
    const id = await sentDelivery(contact, sid);
    expect(
      (await post('/webhooks/twilio/status', statusParams(sid, 'undelivered', { To: contact.phone, ErrorCode: '30003' }))).statusCode,
    ).toBe(204);
    expect(await deliveryOf(id)).toEqual({ status: 'undelivered', error_code: '30003' });
    expect(await optedOut(contact.id)).toEqual([]);
  });

  it('21610: failed, and the number is opted out of SMS', async () => {
    const contact = await contactWithPhone();
    const sid = newSid();
    const id = await sentDelivery(contact, sid);
    const res = await post('/webhooks/twilio/status', statusParams(sid, 'failed', { To: contact.phone, ErrorCode: '21610' }));
    expect(res.statusCode).toBe(204);
    expect(await deliveryOf(id)).toEqual({ status: 'failed', error_code: '21610' });
    expect(await optedOut(contact.id)).toEqual(['sms']);
  });

  it.each(['queued', 'sending', 'accepted', 'scheduled'])('%s: acknowledged, nothing written', async (status) => {
    const contact = await contactWithPhone();
    const sid = newSid();
    await sentDelivery(contact, sid);
    const before = await tableCounts(h.t);
    expect((await post('/webhooks/twilio/status', statusParams(sid, status, { To: contact.phone }))).statusCode).toBe(204);
    expect(await tableCounts(h.t)).toEqual(before);
  });
});

describe('incoming messages', () => {
  const inbound = (from: string, body: string) =>
    post('/webhooks/twilio/inbound', { From: from, To: SENDER, Body: body, AccountSid: ACCOUNT_SID });

  it('STOP opts out, START opts back in, and the answer is empty TwiML', async () => {
    const contact = await contactWithPhone();
    const stop = await inbound(contact.phone, 'STOP');
    expect(stop.statusCode).toBe(200);
    expect(stop.headers['content-type']).toMatch(/^text\/xml/);
    expect(stop.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(await optedOut(contact.id)).toEqual(['sms']);

    expect((await inbound(contact.phone, 'start')).statusCode).toBe(200);
    expect(await optedOut(contact.id)).toEqual([]);
    // The recipient's own acts, in the audit log as theirs (issue 12).
    expect((await contactAudit(h.t, contact.id)).filter((a) => a.action !== 'contact.create')).toEqual([
      { actor: 'recipient', api_key_id: null, action: 'contact.sms_stop' },
      { actor: 'recipient', api_key_id: null, action: 'contact.sms_start' },
    ]);
  });

  it.each(['退订', ' td ', 'T', 'Unsubscribe', 'ＳＴＯＰ', 'quit\n'])('%j opts out', async (body) => {
    const contact = await contactWithPhone();
    await inbound(contact.phone, body);
    expect(await optedOut(contact.id)).toEqual(['sms']);
  });

  it('any other text changes nothing', async () => {
    const contact = await contactWithPhone();
    const before = await tableCounts(h.t);
    for (const body of ['Stop sending me this please', 'hello', '', 'TT']) {
      expect((await inbound(contact.phone, body)).statusCode).toBe(200);
    }
    expect(await tableCounts(h.t)).toEqual(before);
    expect(await optedOut(contact.id)).toEqual([]);
  });
});

describe('end to end: the fake Twilio calls the listening app', () => {
  const adapter = () =>
    createTwilioSmsAdapter({
      settings: h.app.deps.config.providers.twilio!,
      timeoutMs: h.app.deps.config.providers.timeoutMs,
      statusCallbackUrl: `${baseUrl}/webhooks/twilio/status`,
    });

  /** A pending delivery, claimed and sent through the real SDK to the fake. */
  async function claimAndSend(contact: { id: string; enterpriseId: string; phone: string }) {
    await h.t.db.execute(sql`
      insert into deliveries (enterprise_id, contact_id, channel, status) values (${Number(contact.enterpriseId)}, ${Number(contact.id)}, 'sms', 'pending')`);
    const [claimed] = await claimDeliveries(h.t.db, { limit: 1, leaseSeconds: 60 });
    const text = '【广州测试】新政策：https://push.example.org/l/abc';
    const result = await adapter().send({
      deliveryId: String(claimed.id),
      channel: 'sms',
      to: contact.phone,
      content: { text, segments: smsSegments(text).segments },
    });
    if (result.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(result)}`);
    const ack = () =>
      ackDeliveries(
        h.t.db,
        [
          {
            id: claimed.id,
            attempt: claimed.attempts,
            status: 'sent',
            providerMessageId: result.providerMessageId,
            errorCode: null,
            retryInMs: 0,
            attemptRecord: { outcome: 'accepted', providerCode: null, error: null, latencyMs: 1, response: result.raw },
          },
        ],
        'test',
      );
    return { id: claimed.id, sid: result.providerMessageId, ack };
  }

  it('sent, then delivered callbacks (repeated, out of order) move the delivery to delivered once', async () => {
    const contact = await contactWithPhone();
    const { id, sid, ack } = await claimAndSend(contact);
    await ack();
    expect(fake.created.get(sid)?.statusCallback).toBe(`${baseUrl}/webhooks/twilio/status`);

    expect(await fake.sendStatus(sid, 'delivered')).toBe(204);
    expect(await fake.sendStatus(sid, 'sent')).toBe(204);
    expect(await fake.sendStatus(sid, 'delivered')).toBe(204);
    expect(await deliveryOf(id)).toEqual({ status: 'delivered', error_code: null });
    expect((await eventsOf(sid)).map((e) => e.type)).toEqual(['delivered', 'sent']);
  });

  it('callbacks that arrive before the send is acked are applied by the ack', async () => {
    fake.setBehaviour({ autoStatus: { statuses: ['delivered', 'sent'], duplicate: true } });
    try {
      const contact = await contactWithPhone();
      const { id, sid, ack } = await claimAndSend(contact);
      await fake.settled();
      expect(fake.callbacks.filter((c) => c.sid === sid).map((c) => [c.status, c.responseStatus])).toEqual([
        ['delivered', 204],
        ['delivered', 204],
        ['sent', 204],
        ['sent', 204],
      ]);
      expect((await deliveryOf(id)).status).toBe('sending');
      await ack();
      expect(await deliveryOf(id)).toEqual({ status: 'delivered', error_code: null });
      expect((await eventsOf(sid)).map((e) => [e.type, Number(e.delivery_id)])).toEqual([
        ['delivered', id],
        ['sent', id],
      ]);
    } finally {
      fake.setBehaviour({ autoStatus: null });
    }
  });

  it('an undelivered callback with 21610 opts the number out', async () => {
    const contact = await contactWithPhone();
    const { id, sid, ack } = await claimAndSend(contact);
    await ack();
    expect(await fake.sendStatus(sid, 'undelivered', '21610')).toBe(204);
    expect(await deliveryOf(id)).toEqual({ status: 'undelivered', error_code: '21610' });
    expect(await optedOut(contact.id)).toEqual(['sms']);
  });

  it('STOP and START from the handset, through Twilio', async () => {
    const contact = await contactWithPhone();
    const stop = await fake.sendInbound(`${baseUrl}/webhooks/twilio/inbound`, { From: contact.phone, Body: 'Stop' });
    expect(stop).toEqual({ status: 200, body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' });
    expect(await optedOut(contact.id)).toEqual(['sms']);
    expect((await fake.sendInbound(`${baseUrl}/webhooks/twilio/inbound`, { From: contact.phone, Body: 'START' })).status).toBe(200);
    expect(await optedOut(contact.id)).toEqual([]);
  });
});
