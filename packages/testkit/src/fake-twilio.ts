// A fake Twilio Messages API on 127.0.0.1, speaking the wire protocol of CHANNELS.md "SMS through
// Twilio": basic auth, form-encoded creates, 201 message JSON, errors as
// `{ code, message, more_info, status }` only (with `type`/`title` the SDK would raise its other
// exception class), and signed status callbacks that can come twice and out of order.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { smsSegments } from '@policy-push/core';
import twilio from 'twilio';
import { type ConnectionStats, countConnections } from './connection-stats';

export type FakeTwilioStatus = 'queued' | 'accepted' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed';

export interface FakeTwilioOptions {
  accountSid?: string;
  authToken?: string;
  /** The sender a messaging service picks when a message names MessagingServiceSid. */
  poolNumber?: string;
}

/** One request that reached the Messages endpoint, as received. */
export interface FakeTwilioRequest {
  form: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The basic-auth credentials sent, or null without them. */
  auth: { username: string; password: string } | null;
  /** The HTTP status answered; undefined while unanswered (the `hang` switch). */
  answered?: number;
  /** The message sid when it was created. */
  sid?: string;
}

export interface FakeTwilioMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback?: string;
  messagingServiceSid?: string;
}

export interface FakeTwilioCallback {
  sid: string;
  status: FakeTwilioStatus;
  errorCode?: string;
  /** The status our webhook answered, or 0 when it could not be reached. */
  responseStatus: number;
}

export interface FakeTwilioBehaviour {
  /** Wait this long before answering a create. */
  latencyMs: number;
  /** The next N creates answer 429 / 20429, with `Retry-After: retryAfterSeconds` when that is set. */
  rateLimitNext: number;
  retryAfterSeconds?: number;
  /** A create to this To number answers this Twilio error code. */
  errorsByTo: Record<string, number>;
  /** Creates are read but never answered (the client's timeout is what ends them). */
  hang: boolean;
  /**
   * After each accepted create, send these status callbacks in this order (it may be out of
   * order on purpose, e.g. delivered before sent); `duplicate` sends each one twice.
   */
  autoStatus: { statuses: FakeTwilioStatus[]; errorCode?: string; duplicate?: boolean } | null;
}

export interface FakeTwilio {
  /** Pass as TWILIO_API_URL. */
  url: string;
  /** TCP connections opened so far and the most open at once (a pooled client reuses a few). */
  stats: ConnectionStats;
  accountSid: string;
  authToken: string;
  /** Every create request received, in order: its form fields, headers and credentials. */
  messages: FakeTwilioRequest[];
  /** Messages created, by sid. */
  created: Map<string, FakeTwilioMessage>;
  callbacks: FakeTwilioCallback[];
  setBehaviour(patch: Partial<FakeTwilioBehaviour>): void;
  /** POSTs one signed status callback to the message's StatusCallback; answers our HTTP status. */
  sendStatus(sid: string, status: FakeTwilioStatus, errorCode?: string): Promise<number>;
  /** POSTs a signed incoming message, as Twilio does to a number's messaging webhook. */
  sendInbound(url: string, params: { From: string; Body: string; To?: string }): Promise<{ status: number; body: string }>;
  /** Waits for the automatic status callbacks started so far. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const API_VERSION = '2010-04-01';
const MAX_BODY = 1600;

// Messages as Twilio words them (https://www.twilio.com/docs/api/errors).
const ERROR_MESSAGES: Record<number, string> = {
  20003: 'Authenticate',
  20404: 'The requested resource was not found',
  20429: 'Too Many Requests',
  21211: "The 'To' number {To} is not a valid phone number.",
  21602: 'Message body is required.',
  21603: "A 'From' phone number is required.",
  21604: "A 'To' phone number is required.",
  21610: 'Attempt to send to unsubscribed recipient',
  21611: "This 'From' number has exceeded the maximum number of queued messages",
  21614: "'To' number is not a valid mobile number",
  21617: 'The concatenated message body exceeds the 1600 character limit.',
  30001: 'Queue overflow',
  30003: 'Unreachable destination handset',
  30004: 'Message blocked',
  30005: 'Unknown destination handset',
  30006: 'Landline or unreachable carrier',
  30007: 'Message filtered',
  30008: 'Unknown error',
};
const HTTP_STATUS: Record<number, number> = { 20003: 401, 20404: 404, 20429: 429 };

export async function startFakeTwilio(opts: FakeTwilioOptions = {}): Promise<FakeTwilio> {
  const accountSid = opts.accountSid ?? `AC${randomBytes(16).toString('hex')}`;
  const authToken = opts.authToken ?? randomBytes(16).toString('hex');
  const poolNumber = opts.poolNumber ?? '+15005550006';
  const requests: FakeTwilioRequest[] = [];
  const created = new Map<string, FakeTwilioMessage>();
  const callbacks: FakeTwilioCallback[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const timers = new Set<NodeJS.Timeout>();
  let behaviour: FakeTwilioBehaviour = { latencyMs: 0, rateLimitNext: 0, errorsByTo: {}, hang: false, autoStatus: null };

  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => route(req, res, body),
      () => res.destroy(),
    );
  });

  function route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (!match || req.method !== 'POST') {
      sendError(res, 20404);
      return;
    }
    const request: FakeTwilioRequest = { form: Object.fromEntries(new URLSearchParams(body)), headers: req.headers, auth: basicAuth(req) };
    requests.push(request);
    if (behaviour.hang) return;
    const answer = () => (request.answered = createMessage(res, request, match[1]));
    if (behaviour.latencyMs <= 0) return void answer();
    const timer = setTimeout(() => (timers.delete(timer), answer()), behaviour.latencyMs);
    timers.add(timer);
  }

  /** Answers a create as Twilio would; returns the HTTP status sent. */
  function createMessage(res: ServerResponse, request: FakeTwilioRequest, pathAccount: string): number {
    const { auth, form } = request;
    if (!auth || auth.username !== accountSid || auth.password !== authToken || pathAccount !== accountSid) {
      return sendError(res, 20003);
    }
    if (behaviour.rateLimitNext > 0) {
      behaviour.rateLimitNext--;
      const retryAfter = behaviour.retryAfterSeconds;
      return sendError(res, 20429, retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) });
    }
    const problem = checkForm(form) ?? behaviour.errorsByTo[form.To];
    if (problem) return sendError(res, problem, {}, form.To);

    const sid = `SM${randomBytes(16).toString('hex')}`;
    const message: FakeTwilioMessage = {
      sid,
      to: form.To,
      from: form.From ?? poolNumber,
      body: form.Body,
      statusCallback: form.StatusCallback,
      messagingServiceSid: form.MessagingServiceSid,
    };
    created.set(sid, message);
    request.sid = sid;
    const status = sendJson(res, 201, messageJson(message));
    if (behaviour.autoStatus && message.statusCallback) track(autoCallbacks(sid, behaviour.autoStatus));
    return status;
  }

  function messageJson(m: FakeTwilioMessage) {
    const now = new Date().toUTCString().replace('GMT', '+0000');
    return {
      account_sid: accountSid,
      api_version: API_VERSION,
      body: m.body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      // Through a messaging service the sender is chosen later: `from` is null and the status `accepted`.
      from: m.messagingServiceSid ? null : m.from,
      messaging_service_sid: m.messagingServiceSid ?? null,
      num_media: '0',
      num_segments: String(smsSegments(m.body).segments),
      price: null,
      price_unit: 'USD',
      sid: m.sid,
      status: m.messagingServiceSid ? 'accepted' : 'queued',
      subresource_uris: { media: `/${API_VERSION}/Accounts/${accountSid}/Messages/${m.sid}/Media.json` },
      to: m.to,
      uri: `/${API_VERSION}/Accounts/${accountSid}/Messages/${m.sid}.json`,
    };
  }

  async function autoCallbacks(sid: string, auto: NonNullable<FakeTwilioBehaviour['autoStatus']>): Promise<void> {
    for (const status of auto.statuses) {
      const errorCode = status === 'undelivered' || status === 'failed' ? auto.errorCode : undefined;
      for (let i = 0; i < (auto.duplicate ? 2 : 1); i++) await sendStatus(sid, status, errorCode);
    }
  }

  async function sendStatus(sid: string, status: FakeTwilioStatus, errorCode?: string): Promise<number> {
    const m = created.get(sid);
    if (!m?.statusCallback) throw new Error(`fake twilio: no message ${sid} with a StatusCallback`);
    const params: Record<string, string> = {
      SmsSid: sid,
      SmsStatus: status,
      MessageStatus: status,
      To: m.to,
      MessageSid: sid,
      AccountSid: accountSid,
      From: m.from,
      ApiVersion: API_VERSION,
      ...(m.messagingServiceSid ? { MessagingServiceSid: m.messagingServiceSid } : {}),
      ...(errorCode ? { ErrorCode: errorCode } : {}),
    };
    let responseStatus = 0;
    try {
      const res = await postSigned(m.statusCallback, params);
      await res.arrayBuffer();
      responseStatus = res.status;
    } catch {
      // unreachable webhook: recorded as 0, as Twilio would log a failed callback
    }
    callbacks.push({ sid, status, ...(errorCode ? { errorCode } : {}), responseStatus });
    return responseStatus;
  }

  async function sendInbound(url: string, p: { From: string; Body: string; To?: string }) {
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params = {
      ToCountry: 'US',
      SmsMessageSid: sid,
      NumMedia: '0',
      SmsSid: sid,
      SmsStatus: 'received',
      Body: p.Body,
      To: p.To ?? poolNumber,
      NumSegments: String(Math.max(1, smsSegments(p.Body).segments)),
      MessageSid: sid,
      AccountSid: accountSid,
      From: p.From,
      ApiVersion: API_VERSION,
    };
    const res = await postSigned(url, params);
    return { status: res.status, body: await res.text() };
  }

  // Signed as Twilio signs (CHANNELS.md): HMAC-SHA1 over the URL and the sorted params.
  function postSigned(url: string, params: Record<string, string>): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
        'User-Agent': 'TwilioProxy/1.1',
        'X-Twilio-Signature': twilio.getExpectedTwilioSignature(authToken, url, params),
        'I-Twilio-Idempotency-Token': randomBytes(16).toString('hex'),
      },
      body: new URLSearchParams(params).toString(),
    });
  }

  function track(p: Promise<unknown>): void {
    const settledP = p.catch(() => {});
    inFlight.add(settledP);
    void settledP.finally(() => inFlight.delete(settledP));
  }

  const stats = countConnections(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    accountSid,
    authToken,
    messages: requests,
    created,
    callbacks,
    setBehaviour: (patch) => {
      behaviour = { ...behaviour, ...patch };
    },
    sendStatus,
    sendInbound,
    async settled() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([...inFlight]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Twilio's own checks on a create, in its order; answers an error code or undefined. */
function checkForm(form: Record<string, string>): number | undefined {
  if (!form.To) return 21604;
  if (!form.From && !form.MessagingServiceSid) return 21603;
  if (!form.Body) return 21602;
  if ([...form.Body].length > MAX_BODY) return 21617;
  // The shape of E.164 only; whether the number exists is what errorsByTo simulates.
  if (!/^\+[1-9]\d{6,14}$/.test(form.To)) return 21211;
  return undefined;
}

function sendError(res: ServerResponse, code: number, headers: Record<string, string> = {}, to = ''): number {
  const status = HTTP_STATUS[code] ?? 400;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  return sendJson(res, status, {
    code,
    // Like Twilio's, some messages name the number.
    message: (ERROR_MESSAGES[code] ?? `Error ${code}`).replace('{To}', to),
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): number {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
  return status;
}

function basicAuth(req: IncomingMessage): FakeTwilioRequest['auth'] {
  const m = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
