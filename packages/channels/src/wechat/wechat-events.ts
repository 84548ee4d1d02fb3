// What WeChat POSTs to the Official Account's server URL (CHANNELS.md "Receipts"): template
// receipts (TEMPLATESENDJOBFINISH) and follow events, as signed XML, encrypted in safe mode.
// This checks and reads them; the webhook route applies them.
import { XMLParser } from 'fast-xml-parser';
import type { Receipt } from '../channel';
import { decryptMessage, verifyMsgSignature, verifySignature, WechatCryptoError } from './wechat-crypto';
import type { WechatSettings } from './wechat-http';

export interface WechatCallbackQuery {
  signature?: string;
  timestamp?: string;
  nonce?: string;
  echostr?: string;
  encrypt_type?: string;
  msg_signature?: string;
}

type Auth = Pick<WechatSettings, 'token' | 'appId' | 'encodingAesKey'>;

/** The server-URL check (GET): the echostr to answer when the signature is WeChat's, else null. */
export function wechatUrlCheckEcho(settings: Auth, q: WechatCallbackQuery): string | null {
  if (!signed(settings, q) || typeof q.echostr !== 'string') return null;
  return q.echostr;
}

function signed(settings: Auth, q: WechatCallbackQuery): boolean {
  return !!q.signature && !!q.timestamp && !!q.nonce && verifySignature(settings.token, q.timestamp, q.nonce, q.signature);
}

export type OpenedCallback = { ok: true; fields: WechatFields } | { ok: false; problem: 'signature' | 'msg_signature' | 'decrypt' | 'xml' };

/**
 * Checks a POST and returns its fields. Signatures come first: nothing of a forged call is read
 * further. With an EncodingAESKey configured (safe mode) the body must be encrypted, with a valid
 * msg_signature over its Encrypt element and this appid inside: the plain `signature` does not
 * cover the body, so a plain body could have been swapped.
 */
export function openWechatCallback(settings: Auth, q: WechatCallbackQuery, body: string): OpenedCallback {
  if (!signed(settings, q)) return { ok: false, problem: 'signature' };
  const outer = parseWechatXml(body);
  if (!settings.encodingAesKey) return outer ? { ok: true, fields: outer } : { ok: false, problem: 'xml' };
  const encrypt = outer ? wechatField(outer, 'Encrypt') : undefined;
  if (!encrypt || !q.msg_signature || !verifyMsgSignature(settings.token, q.timestamp!, q.nonce!, encrypt, q.msg_signature)) {
    return { ok: false, problem: 'msg_signature' };
  }
  let xml: string;
  try {
    xml = decryptMessage(settings.encodingAesKey, settings.appId, encrypt);
  } catch (err) {
    if (err instanceof WechatCryptoError) return { ok: false, problem: 'decrypt' };
    throw err;
  }
  const inner = parseWechatXml(xml);
  return inner ? { ok: true, fields: inner } : { ok: false, problem: 'xml' };
}

/** The leaf elements under <xml>, values kept as text (a MsgID can exceed 2^53). */
export type WechatFields = Record<string, string>;

const parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, trimValues: true, ignoreDeclaration: true });

export function parseWechatXml(xml: string): WechatFields | null {
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch {
    return null;
  }
  const root = (doc as { xml?: unknown })?.xml;
  if (!root || typeof root !== 'object') return null;
  const fields: WechatFields = {};
  for (const [key, value] of Object.entries(root)) if (typeof value === 'string') fields[key] = value;
  return fields;
}

/** A field by name, case-insensitively: WeChat writes MsgID in receipts and MsgId elsewhere. */
export function wechatField(fields: WechatFields, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(fields)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

export type WechatEvent =
  /** A template message's fate; `blocked` when the user refuses the account's messages. */
  | { kind: 'receipt'; receipt: Receipt; openid: string; blocked: boolean }
  | { kind: 'unsubscribe'; openid: string }
  /** subscribe or SCAN; `scene` is the QR code's scene (subscribe's `qrscene_` prefix removed). */
  | { kind: 'follow'; openid: string; scene: string | null }
  | { kind: 'ignored'; why: string };

export function interpretWechatEvent(fields: WechatFields, received: Date = new Date()): WechatEvent {
  const openid = wechatField(fields, 'FromUserName') ?? '';
  if ((wechatField(fields, 'MsgType') ?? '').toLowerCase() !== 'event') return { kind: 'ignored', why: 'not an event' };
  const event = (wechatField(fields, 'Event') ?? '').toLowerCase();
  if (!openid) return { kind: 'ignored', why: 'no FromUserName' };
  switch (event) {
    case 'templatesendjobfinish':
      return templateReceipt(fields, openid, received);
    case 'unsubscribe':
      return { kind: 'unsubscribe', openid };
    case 'subscribe':
    case 'scan': {
      const key = wechatField(fields, 'EventKey') ?? '';
      const scene = key.startsWith('qrscene_') ? key.slice('qrscene_'.length) : key;
      return { kind: 'follow', openid, scene: scene || null };
    }
    default:
      return { kind: 'ignored', why: `event ${event || 'without a name'}` };
  }
}

function templateReceipt(fields: WechatFields, openid: string, received: Date): WechatEvent {
  const msgid = wechatField(fields, 'MsgID');
  const status = (wechatField(fields, 'Status') ?? '').trim().toLowerCase();
  if (!msgid || !/^\d+$/.test(msgid)) return { kind: 'ignored', why: 'receipt without a MsgID' };
  const created = Number(wechatField(fields, 'CreateTime'));
  const occurredAt = Number.isFinite(created) && created > 0 ? new Date(created * 1000) : received;
  const base = { channel: 'wechat' as const, providerMessageId: msgid, occurredAt, payload: fields };
  if (status === 'success') return { kind: 'receipt', openid, blocked: false, receipt: { ...base, status: 'delivered' } };
  if (!status.startsWith('failed:')) return { kind: 'ignored', why: `receipt status ${status || 'missing'}` };
  // "failed:user block", "failed: system failed" (with its space), "failed:freq limit"…
  const reason = status.slice('failed:'.length).trim().replace(/\s+/g, '_') || 'unknown';
  if (reason === 'user_block') {
    // The user refuses the account's messages: failed, and the contact opted out of WeChat.
    return { kind: 'receipt', openid, blocked: true, receipt: { ...base, status: 'failed', errorCode: 'user_block' } };
  }
  // The platform could not deliver this one: undelivered, so the next channel gets it.
  return { kind: 'receipt', openid, blocked: false, receipt: { ...base, status: 'undelivered', errorCode: reason } };
}
