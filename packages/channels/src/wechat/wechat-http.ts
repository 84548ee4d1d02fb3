// One call to the WeChat API: HTTP status is always 200 and the outcome is `errcode` (0 = ok)
// with `errmsg` (CHANNELS.md "Send"). The body is kept as text, because a msgid can exceed 2^53
// and must never go through a plain JSON.parse number: callers take such fields from the text.
import type { ProviderSettings } from '@policy-push/core';
import { type Dispatcher, getGlobalDispatcher, Pool } from 'undici';

export type WechatSettings = NonNullable<ProviderSettings['wechat']>;

export interface WechatReply {
  errcode: number;
  errmsg: string;
  /** The body as sent, for fields that must stay exact (msgid). */
  text: string;
  /** The body parsed, for the small fields (numbers below 2^53 and strings only). */
  json: Record<string, unknown>;
}

/** No usable answer: the request timed out, the connection failed, or the body was not WeChat's JSON. */
export class WechatTransportError extends Error {
  constructor(
    readonly code: 'TIMEOUT' | 'NETWORK_ERROR' | 'BAD_RESPONSE',
    message: string,
  ) {
    super(message);
  }
}

export interface WechatHttp {
  /**
   * Where the requests go: the sender's own Pool to WeChat's origin (createWechatPool). Left out,
   * undici's global dispatcher (keep-alive as well): enough for the rare calls, tokens and binding.
   */
  pool?: Dispatcher;
  /** Until the answer's headers, and then between chunks of its body (undici's own timers). */
  timeoutMs: number;
}

/**
 * Keep-alive connections to WeChat's origin, at most `connections` of them (a new one is opened
 * only when every open one is busy). The timeouts are undici's own timers: no AbortSignal per request.
 */
export function createWechatPool(apiUrl: string, opts: { connections: number; timeoutMs: number }): Pool {
  return new Pool(new URL(apiUrl).origin, {
    connections: opts.connections,
    connect: { timeout: opts.timeoutMs },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
}

// undici's timeouts once the request was written: WeChat may have taken it.
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export async function wechatRequest(http: WechatHttp, url: string, body?: unknown): Promise<WechatReply> {
  let text: string;
  try {
    const u = new URL(url);
    const res = await (http.pool ?? getGlobalDispatcher()).request({
      origin: u.origin,
      path: u.pathname + u.search,
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      // A send that hangs must not hold a worker.
      headersTimeout: http.timeoutMs,
      bodyTimeout: http.timeoutMs,
    });
    text = await res.body.text();
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
      throw new WechatTransportError('TIMEOUT', `no answer within ${http.timeoutMs} ms (the request may have been taken)`);
    }
    // Refused, reset, or no connection within the timeout (UND_ERR_CONNECT_TIMEOUT): nothing was taken.
    throw new WechatTransportError('NETWORK_ERROR', typeof code === 'string' ? code : ((err as Error)?.message ?? String(err)));
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch {
    // A proxy's error page, say: WeChat itself always answers JSON.
    throw new WechatTransportError('BAD_RESPONSE', 'the answer was not JSON');
  }
  if (!json || typeof json !== 'object') throw new WechatTransportError('BAD_RESPONSE', 'the answer was not a JSON object');
  const errcode = typeof json.errcode === 'number' ? json.errcode : 0;
  const errmsg = typeof json.errmsg === 'string' ? json.errmsg : '';
  return { errcode, errmsg, text, json };
}

/** A numeric (or numeric string) field of a flat WeChat answer, its digits exactly as written. */
export function exactDigits(text: string, field: string): string | null {
  const match = new RegExp(`"${field}"\\s*:\\s*"?(-?\\d+)"?`).exec(text);
  return match ? match[1] : null;
}
