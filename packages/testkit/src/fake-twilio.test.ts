// The fake's wire protocol, checked with plain HTTP (the adapter's tests use it through the SDK).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeTwilio, startFakeTwilio } from './fake-twilio';

let fake: FakeTwilio;
// A webhook receiver that records what the fake posts to it, and whether it was signed correctly.
let receiver: Server;
let receiverUrl: string;
const received: { url: string; params: Record<string, string>; validSignature: boolean; headers: Record<string, unknown> }[] = [];

beforeAll(async () => {
  fake = await startFakeTwilio();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const url = `${receiverUrl}${req.url}`;
      const signature = String(req.headers['x-twilio-signature'] ?? '');
      received.push({ url, params, headers: req.headers, validSignature: twilio.validateRequest(fake.authToken, signature, url, params) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await fake.close();
  await new Promise((resolve) => receiver.close(resolve));
});
beforeEach(() => {
  received.length = 0;
  fake.setBehaviour({ latencyMs: 0, rateLimitNext: 0, retryAfterSeconds: undefined, errorsByTo: {}, hang: false, autoStatus: null });
});

function create(form: Record<string, string>, auth = `${fake.accountSid}:${fake.authToken}`, account = fake.accountSid) {
  return fetch(`${fake.url}/2010-04-01/Accounts/${account}/Messages.json`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}
// The JSON of a response, untyped: the tests check its shape.
const json = async (res: Response | Promise<Response>): Promise<any> => (await res).json();
const form = (extra: Record<string, string> = {}) => ({ To: '+12025550150', From: '+15005550006', Body: 'hello', ...extra });

describe('fake twilio: creating messages', () => {
  it('answers 201 with the message resource', async () => {
    const res = await create(form({ StatusCallback: `${receiverUrl}/status` }));
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toMatchObject({
      account_sid: fake.accountSid,
      status: 'queued',
      num_segments: '1',
      error_code: null,
      to: '+12025550150',
      from: '+15005550006',
      body: 'hello',
      direction: 'outbound-api',
    });
    expect(body.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(fake.messages.at(-1)).toMatchObject({ sid: body.sid, answered: 201, form: form({ StatusCallback: `${receiverUrl}/status` }) });
  });

  it('counts segments as a handset does (UCS-2 for Chinese)', async () => {
    const body = await json(create(form({ Body: '政'.repeat(71) })));
    expect(body.num_segments).toBe('2');
  });

  it('through a messaging service: accepted, from null', async () => {
    const body = await json(create({ To: '+12025550150', MessagingServiceSid: `MG${'0'.repeat(32)}`, Body: 'hi' }));
    expect(body).toMatchObject({ status: 'accepted', from: null, messaging_service_sid: `MG${'0'.repeat(32)}` });
  });

  it('wrong credentials: 401 with error 20003, in the legacy error shape only', async () => {
    for (const res of [await create(form(), `${fake.accountSid}:wrong`), await create(form(), 'ACx:y', 'ACx')]) {
      expect(res.status).toBe(401);
      const body = await json(res);
      expect(body).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    }
  });

  it('checks the form as Twilio does', async () => {
    const codeOf = async (f: Record<string, string>) => (await json(create(f))).code;
    expect(await codeOf({ From: '+15005550006', Body: 'x' })).toBe(21604);
    expect(await codeOf({ To: '+12025550150', Body: 'x' })).toBe(21603);
    expect(await codeOf({ To: '+12025550150', From: '+15005550006' })).toBe(21602);
    expect(await codeOf(form({ Body: 'x'.repeat(1601) }))).toBe(21617);
    expect(await codeOf(form({ To: '12345' }))).toBe(21211);
  });

  it('answers a chosen error for a chosen number', async () => {
    fake.setBehaviour({ errorsByTo: { '+12025550199': 21610 } });
    const res = await create(form({ To: '+12025550199' }));
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      code: 21610,
      message: 'Attempt to send to unsubscribed recipient',
      more_info: 'https://www.twilio.com/docs/errors/21610',
      status: 400,
    });
    expect((await create(form())).status).toBe(201);
  });

  it('rate limits the next N calls, with Retry-After', async () => {
    fake.setBehaviour({ rateLimitNext: 2, retryAfterSeconds: 3 });
    const limited = [await create(form()), await create(form())];
    for (const res of limited) {
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      expect((await json(res)).code).toBe(20429);
    }
    expect((await create(form())).status).toBe(201);
  });

  it('answers after the configured latency', async () => {
    fake.setBehaviour({ latencyMs: 30 });
    expect((await create(form())).status).toBe(201);
  });

  it('hangs when asked: the request is recorded, never answered', async () => {
    fake.setBehaviour({ hang: true });
    // Left pending: close() drops the connection at the end of the file.
    void create(form({ Body: 'no answer' })).catch(() => {});
    await expect.poll(() => fake.messages.at(-1)?.form.Body).toBe('no answer');
    expect(fake.messages.at(-1)?.answered).toBeUndefined();
  });

  it('answers 404 in the error shape elsewhere', async () => {
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${fake.accountSid}/Calls.json`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect((await json(res)).code).toBe(20404);
  });
});

describe('fake twilio: callbacks', () => {
  it('posts signed status callbacks to the StatusCallback URL', async () => {
    const { sid } = await json(create(form({ StatusCallback: `${receiverUrl}/status?x=1` })));
    expect(await fake.sendStatus(sid, 'undelivered', '30003')).toBe(204);
    expect(received).toHaveLength(1);
    const [cb] = received;
    expect(cb.validSignature).toBe(true);
    expect(cb.url).toBe(`${receiverUrl}/status?x=1`);
    expect(cb.params).toMatchObject({
      MessageSid: sid,
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
      To: '+12025550150',
      From: '+15005550006',
      AccountSid: fake.accountSid,
      ApiVersion: '2010-04-01',
    });
    expect(fake.callbacks.at(-1)).toEqual({ sid, status: 'undelivered', errorCode: '30003', responseStatus: 204 });
  });

  it('sends automatic callbacks in the order asked, duplicated when asked', async () => {
    fake.setBehaviour({ autoStatus: { statuses: ['delivered', 'sent'], duplicate: true } });
    const { sid } = await json(create(form({ StatusCallback: `${receiverUrl}/status` })));
    await fake.settled();
    expect(received.map((r) => [r.params.MessageSid, r.params.MessageStatus, r.validSignature])).toEqual([
      [sid, 'delivered', true],
      [sid, 'delivered', true],
      [sid, 'sent', true],
      [sid, 'sent', true],
    ]);
    expect(received.every((r) => r.params.ErrorCode === undefined)).toBe(true);
  });

  it('posts signed inbound messages', async () => {
    const res = await fake.sendInbound(`${receiverUrl}/inbound`, { From: '+447700900123', Body: 'STOP' });
    expect(res.status).toBe(204);
    expect(received[0]).toMatchObject({
      validSignature: true,
      params: { From: '+447700900123', Body: 'STOP', AccountSid: fake.accountSid },
    });
  });
});
