// A fake WeChat Official Account API for tests, honouring the wire facts of CHANNELS.md: the
// stable token, template sends (always HTTP 200 with errcode/errmsg/msgid, msgids above 2^53,
// client_msg_id dedupe, field limits by key type), temporary QR codes, the snsapi_base code
// exchange, and signed (in safe mode encrypted) event callbacks to the server URL.
// Its signing and encryption are written here again, from the protocol, rather than imported
// from the channels package: the fake is the other side of the wire, and an independent
// implementation is what catches a mistake in ours (testkit must not depend on channels anyway).
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { type ConnectionStats, countConnections } from './connection-stats';

export interface FakeWechatOptions {
  appId: string;
  appSecret: string;
  /** The server-URL token that signs callbacks. */
  token: string;
  /** Safe mode: callbacks are encrypted with this key (43 characters). */
  encodingAesKey?: string;
  /** Our webhook, where events are POSTed; also settable later with setCallbackUrl(). */
  callbackUrl?: string;
  /** The account's original id, ToUserName of events. */
  originalId?: string;
  /** Clock (ms) for token lifetimes, the dedupe window and event times. */
  now?: () => number;
  /** Lifetime of a new access token. Default 7200 s. */
  tokenTtlSeconds?: number;
  /** How long the same openid + client_msg_id is answered with the first msgid. Default 10 minutes (unverified: "about"). */
  dedupeWindowMs?: number;
  /** When given, other template ids are refused with 40037. */
  templateIds?: string[];
}

/** Field kinds named by a template key (thing2, character_string4…); other keys are old-style keywords. */
export type FakeWechatFieldKind = 'thing' | 'keyword' | 'character_string' | 'number' | 'letter' | 'phrase';

export interface FakeWechatBehaviour {
  /** Delay before each template send is answered. */
  latencyMs: number;
  /** openid → errcode answered for every send to it. */
  errorFor: Record<string, number>;
  /** errcodes answered to the next sends, one each, in order (after the token check). */
  nextErrors: number[];
  /** Never answer template sends (true) or the next n of them; the message is still taken. */
  hang: boolean | number;
  /** Characters allowed per field kind. */
  limits: Record<FakeWechatFieldKind, number>;
  /** Over-long values: refused with 47003, or cut and sent (CHANNELS.md: unverified which). */
  overLimit: 'reject' | 'cut';
}

export interface TemplateSendBody {
  touser?: string;
  template_id?: string;
  url?: string;
  client_msg_id?: string;
  data?: Record<string, { value?: unknown }>;
  [key: string]: unknown;
}

export interface FakeWechatMessage {
  msgid: string;
  openid: string;
  body: TemplateSendBody;
  /** Keys whose values were cut (overLimit 'cut'). */
  cut: string[];
}

export interface FakeQrCode {
  ticket: string;
  scene: string;
  expireSeconds: number;
}

export interface CallbackResult {
  status: number;
  body: string;
}

export interface CallbackOptions {
  /** Post the same event this many times (WeChat retries). Default 1. */
  repeat?: number;
  /** Sign with another token: a forgery. */
  signWithToken?: string;
  /** Encrypt for another appid (safe mode). */
  encryptForAppId?: string;
}

export type ReceiptStatus = 'success' | 'failed:user block' | 'failed: system failed' | 'failed:freq limit' | (string & {});

export interface FakeWechat {
  url: string;
  /** TCP connections opened so far and the most open at once (a pooled client reuses a few). */
  stats: ConnectionStats;
  /** Every template send body received, refused ones too, in order. */
  sent: TemplateSendBody[];
  /** Messages taken (one per distinct openid + client_msg_id within the window). */
  messages: FakeWechatMessage[];
  /** Every stable_token call. */
  tokenRequests: { force: boolean }[];
  /** Every code exchange. */
  oauthRequests: { code: string }[];
  qrCodes: FakeQrCode[];
  setBehaviour(b: Partial<FakeWechatBehaviour>): void;
  /** Every token issued so far now answers 42001 (expired). */
  expireTokens(): void;
  /** A web-authorisation code that exchanges for this openid, once. */
  issueOauthCode(openid: string): string;
  setCallbackUrl(url: string): void;
  /** A TEMPLATESENDJOBFINISH receipt for a message taken earlier (or for `openid`). */
  sendReceipt(msgid: string, status: ReceiptStatus, opts?: CallbackOptions & { openid?: string }): Promise<CallbackResult[]>;
  /** Several receipts, in the given order or reversed. */
  sendReceipts(
    receipts: { msgid: string; status: ReceiptStatus }[],
    opts?: CallbackOptions & { order?: 'given' | 'reversed' },
  ): Promise<CallbackResult[]>;
  /** Any event; ToUserName, CreateTime and MsgType=event are filled in. */
  sendEvent(
    fields: { Event: string; FromUserName: string; [key: string]: string | number },
    opts?: CallbackOptions,
  ): Promise<CallbackResult[]>;
  /** A user scans a QR code made here: subscribe (qrscene_ key) for a new follower, SCAN for one already following. */
  scanQrCode(ticket: string, openid: string, opts?: CallbackOptions & { following?: boolean }): Promise<CallbackResult[]>;
  close(): Promise<void>;
}

const DEFAULT_LIMITS: Record<FakeWechatFieldKind, number> = {
  thing: 20,
  keyword: 20,
  character_string: 32,
  number: 32,
  letter: 32,
  phrase: 5,
};

// Renewed about 5 minutes before expiry: a repeat call then gets the next token (CHANNELS.md).
const RENEW_BEFORE_MS = 5 * 60_000;
// Above 2^53 on purpose: a client that reads msgid as a JSON number loses digits.
const FIRST_MSGID = 3_147_483_648_123_456_789n;

interface TokenState {
  expiresAt: number;
  state: 'valid' | 'expired' | 'invalid';
}

export async function startFakeWechat(opts: FakeWechatOptions): Promise<FakeWechat> {
  const now = opts.now ?? Date.now;
  const ttlMs = (opts.tokenTtlSeconds ?? 7200) * 1000;
  const dedupeWindowMs = opts.dedupeWindowMs ?? 10 * 60_000;
  const originalId = opts.originalId ?? 'gh_fake00000001';
  let callbackUrl = opts.callbackUrl;
  const behaviour: FakeWechatBehaviour = {
    latencyMs: 0,
    errorFor: {},
    nextErrors: [],
    hang: false,
    limits: { ...DEFAULT_LIMITS },
    overLimit: 'reject',
  };
  const tokens = new Map<string, TokenState>();
  let current: string | null = null;
  let nextMsgid = FIRST_MSGID;
  const dedupe = new Map<string, { msgid: string; at: number }>();
  const oauthCodes = new Map<string, { openid: string; used: boolean }>();
  const hanging = new Set<ServerResponse>();

  const fake = {
    url: '',
    stats: { connections: 0, open: 0, maxOpen: 0 } as ConnectionStats,
    sent: [] as TemplateSendBody[],
    messages: [] as FakeWechatMessage[],
    tokenRequests: [] as { force: boolean }[],
    oauthRequests: [] as { code: string }[],
    qrCodes: [] as FakeQrCode[],
  };

  // ---------------------------------------------------------------------------------------------
  // Tokens

  function issueToken(): { token: string; expiresIn: number } {
    const token = `fake-token-${randomBytes(12).toString('hex')}`;
    tokens.set(token, { expiresAt: now() + ttlMs, state: 'valid' });
    current = token;
    return { token, expiresIn: ttlMs / 1000 };
  }

  function stableToken(body: Record<string, unknown>): string {
    if (body.grant_type !== 'client_credential') return error(40002, 'invalid grant_type');
    if (body.appid !== opts.appId) return error(40013, 'invalid appid');
    if (body.secret !== opts.appSecret) return error(40125, 'invalid appsecret');
    const force = body.force_refresh === true;
    fake.tokenRequests.push({ force });
    const state = current ? tokens.get(current) : undefined;
    if (force) {
      // A forced refresh invalidates the old token at once.
      for (const t of tokens.values()) if (t.state === 'valid') t.state = 'invalid';
    } else if (state && state.state === 'valid' && state.expiresAt - now() > RENEW_BEFORE_MS) {
      return JSON.stringify({ access_token: current, expires_in: Math.floor((state.expiresAt - now()) / 1000) });
    }
    // New, renewed near expiry (the old one keeps working until it expires) or forced.
    const issued = issueToken();
    return JSON.stringify({ access_token: issued.token, expires_in: issued.expiresIn });
  }

  /** null when the access token is good, else the errcode answer. */
  function tokenProblem(token: string | null): string | null {
    if (!token) return error(41001, 'access_token missing');
    const state = tokens.get(token);
    if (!state || state.state === 'invalid') return error(40001, 'invalid credential, access_token is invalid or not latest');
    if (state.state === 'expired' || state.expiresAt <= now()) return error(42001, 'access_token expired');
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Template send

  function kindOf(key: string): FakeWechatFieldKind | 'time' | 'date' {
    const name = /^([a-z_]+?)\d*$/.exec(key)?.[1];
    if (name === 'time' || name === 'date') return name;
    return name && name in DEFAULT_LIMITS ? (name as FakeWechatFieldKind) : 'keyword';
  }

  function templateSend(token: string | null, raw: string): { text: string; hang: boolean } {
    const refused = (text: string) => ({ text, hang: false });
    let body: TemplateSendBody;
    try {
      body = JSON.parse(raw);
    } catch {
      return refused(error(47001, 'data format error'));
    }
    fake.sent.push(body);
    const bad = tokenProblem(token);
    if (bad) return refused(bad);
    const planned = behaviour.nextErrors.shift();
    if (planned !== undefined) return refused(error(planned, `planned error ${planned}`));
    if (typeof body.touser !== 'string' || !body.touser) return refused(error(40003, 'invalid openid'));
    const forced = behaviour.errorFor[body.touser];
    if (forced !== undefined) return refused(error(forced, `error ${forced} for this openid`));
    if (typeof body.template_id !== 'string' || !body.template_id) return refused(error(40037, 'invalid template_id'));
    if (opts.templateIds && !opts.templateIds.includes(body.template_id)) return refused(error(40037, 'invalid template_id'));
    if (!body.data || typeof body.data !== 'object') return refused(error(47001, 'data format error'));
    const cut: string[] = [];
    for (const [key, field] of Object.entries(body.data)) {
      if (typeof field?.value !== 'string') return refused(error(47001, `data format error: data.${key}.value`));
      const kind = kindOf(key);
      if (kind === 'time' || kind === 'date') continue;
      const chars = [...field.value];
      const tooLong = chars.length > behaviour.limits[kind] || (kind === 'keyword' && /[\r\n]/.test(field.value));
      if (!tooLong) continue;
      if (behaviour.overLimit === 'reject') return refused(error(47003, `argument invalid! data.${key}.value invalid`));
      cut.push(key);
    }

    const hang = behaviour.hang === true || (typeof behaviour.hang === 'number' && behaviour.hang > 0);
    if (typeof behaviour.hang === 'number' && behaviour.hang > 0) behaviour.hang -= 1;
    const key = typeof body.client_msg_id === 'string' && body.client_msg_id ? `${body.touser}\u0000${body.client_msg_id}` : null;
    const seen = key ? dedupe.get(key) : undefined;
    if (seen && now() - seen.at < dedupeWindowMs) return { text: ok(seen.msgid), hang };
    const msgid = String(nextMsgid++);
    if (key) dedupe.set(key, { msgid, at: now() });
    fake.messages.push({ msgid, openid: body.touser, body, cut });
    return { text: ok(msgid), hang };
  }

  // WeChat writes msgid as a bare JSON number, whatever its size.
  const ok = (msgid: string) => `{"errcode":0,"errmsg":"ok","msgid":${msgid}}`;
  const error = (errcode: number, errmsg: string) =>
    JSON.stringify({ errcode, errmsg: `${errmsg} rid: ${randomBytes(4).toString('hex')}` });

  // ---------------------------------------------------------------------------------------------
  // QR codes and web authorisation

  function qrCreate(token: string | null, raw: string): string {
    const bad = tokenProblem(token);
    if (bad) return bad;
    let body: { expire_seconds?: unknown; action_name?: unknown; action_info?: { scene?: { scene_str?: unknown } } };
    try {
      body = JSON.parse(raw);
    } catch {
      return error(47001, 'data format error');
    }
    const scene = body.action_info?.scene?.scene_str;
    if (body.action_name !== 'QR_STR_SCENE' || typeof scene !== 'string' || scene.length < 1 || scene.length > 64) {
      return error(40097, 'invalid args');
    }
    const asked = typeof body.expire_seconds === 'number' ? body.expire_seconds : 30;
    const expireSeconds = Math.min(Math.max(asked, 60), 2_592_000);
    const ticket = `gQ${randomBytes(18).toString('base64url')}==`;
    fake.qrCodes.push({ ticket, scene, expireSeconds });
    return JSON.stringify({ ticket, expire_seconds: expireSeconds, url: `http://weixin.qq.com/q/${randomBytes(9).toString('hex')}` });
  }

  function oauthExchange(q: URLSearchParams): string {
    const code = q.get('code') ?? '';
    fake.oauthRequests.push({ code });
    if (q.get('appid') !== opts.appId) return error(40013, 'invalid appid');
    if (q.get('secret') !== opts.appSecret) return error(40125, 'invalid appsecret');
    if (q.get('grant_type') !== 'authorization_code') return error(40002, 'invalid grant_type');
    const issued = oauthCodes.get(code);
    if (!issued) return error(40029, 'invalid code');
    if (issued.used) return error(40163, 'code been used');
    issued.used = true;
    return JSON.stringify({
      access_token: `fake-web-${randomBytes(8).toString('hex')}`,
      expires_in: 7200,
      refresh_token: `fake-refresh-${randomBytes(8).toString('hex')}`,
      openid: issued.openid,
      scope: 'snsapi_base',
    });
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    const token = url.searchParams.get('access_token');
    const answer = (text: string) => {
      // Always HTTP 200: the outcome is in errcode.
      res.writeHead(200, { 'content-type': 'application/json; encoding=utf-8' });
      res.end(text);
    };
    if (req.method === 'POST' && url.pathname === '/cgi-bin/stable_token') {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw);
      } catch {
        return answer(error(47001, 'data format error'));
      }
      return answer(stableToken(body));
    }
    if (req.method === 'POST' && url.pathname === '/cgi-bin/message/template/send') {
      if (behaviour.latencyMs > 0) await delay(behaviour.latencyMs);
      const { text, hang } = templateSend(token, raw);
      if (hang) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      return answer(text);
    }
    if (req.method === 'POST' && url.pathname === '/cgi-bin/qrcode/create') return answer(qrCreate(token, raw));
    if (req.method === 'GET' && url.pathname === '/sns/oauth2/access_token') return answer(oauthExchange(url.searchParams));
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  fake.stats = countConnections(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // ---------------------------------------------------------------------------------------------
  // Callbacks to our server URL

  const sha1Sorted = (parts: string[]) =>
    createHash('sha1')
      .update([...parts].sort().join(''))
      .digest('hex');

  // Text in CDATA, digits bare, as WeChat writes them.
  function toXml(fields: Record<string, string | number>): string {
    const inner = Object.entries(fields)
      .map(([k, v]) => (typeof v === 'number' || /^\d+$/.test(v) ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`))
      .join('');
    return `<xml>${inner}</xml>`;
  }

  // AES-256-CBC, key = base64(EncodingAESKey + '='), IV = its first 16 bytes, PKCS#7 to 32 bytes,
  // plaintext = 16 random bytes + 4-byte big-endian length + XML + appid.
  function encrypt(xml: string, appId: string): string {
    const key = Buffer.from(`${opts.encodingAesKey}=`, 'base64');
    const msg = Buffer.from(xml, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(msg.length);
    const plain = Buffer.concat([randomBytes(16), len, msg, Buffer.from(appId, 'utf8')]);
    const padLength = 32 - (plain.length % 32);
    const padded = Buffer.concat([plain, Buffer.alloc(padLength, padLength)]);
    const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
    return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
  }

  async function post(fields: Record<string, string | number>, o: CallbackOptions = {}): Promise<CallbackResult[]> {
    if (!callbackUrl) throw new Error('fake wechat: no callback URL');
    const timestamp = String(Math.floor(now() / 1000));
    const nonce = String(randomBytes(4).readUInt32BE());
    const signToken = o.signWithToken ?? opts.token;
    const query = new URLSearchParams({ signature: sha1Sorted([signToken, timestamp, nonce]), timestamp, nonce });
    if (typeof fields.FromUserName === 'string') query.set('openid', fields.FromUserName);
    let body = toXml(fields);
    if (opts.encodingAesKey) {
      const encrypted = encrypt(body, o.encryptForAppId ?? opts.appId);
      body = `<xml><ToUserName><![CDATA[${originalId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`;
      query.set('encrypt_type', 'aes');
      query.set('msg_signature', sha1Sorted([signToken, timestamp, nonce, encrypted]));
    }
    const results: CallbackResult[] = [];
    for (let i = 0; i < (o.repeat ?? 1); i++) {
      const res = await fetch(`${callbackUrl}?${query}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
      results.push({ status: res.status, body: await res.text() });
    }
    return results;
  }

  const envelope = () => ({ ToUserName: originalId, CreateTime: Math.floor(now() / 1000), MsgType: 'event' });

  function receiptFields(msgid: string, status: string, openid?: string) {
    const to = openid ?? fake.messages.find((m) => m.msgid === msgid)?.openid;
    if (!to) throw new Error(`fake wechat: no message ${msgid}; pass opts.openid`);
    return { ...envelope(), FromUserName: to, Event: 'TEMPLATESENDJOBFINISH', MsgID: msgid, Status: status };
  }

  return {
    ...fake,
    setBehaviour(b) {
      Object.assign(behaviour, b, b.limits ? { limits: { ...behaviour.limits, ...b.limits } } : {});
    },
    expireTokens() {
      for (const t of tokens.values()) if (t.state === 'valid') t.state = 'expired';
    },
    issueOauthCode(openid) {
      const code = `fake-code-${randomBytes(8).toString('hex')}`;
      oauthCodes.set(code, { openid, used: false });
      return code;
    },
    setCallbackUrl(url) {
      callbackUrl = url;
    },
    sendReceipt: (msgid, status, o = {}) => post(receiptFields(msgid, status, o.openid), o),
    async sendReceipts(receipts, o = {}) {
      const ordered = o.order === 'reversed' ? [...receipts].reverse() : receipts;
      const results: CallbackResult[] = [];
      for (const r of ordered) results.push(...(await post(receiptFields(r.msgid, r.status), o)));
      return results;
    },
    sendEvent: (fields, o) => post({ ...envelope(), ...fields }, o),
    scanQrCode(ticket, openid, o = {}) {
      const qr = fake.qrCodes.find((q) => q.ticket === ticket);
      if (!qr) throw new Error('fake wechat: unknown ticket');
      const event = o.following
        ? { Event: 'SCAN', EventKey: qr.scene, Ticket: ticket }
        : { Event: 'subscribe', EventKey: `qrscene_${qr.scene}`, Ticket: ticket };
      return post({ ...envelope(), FromUserName: openid, ...event }, o);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
