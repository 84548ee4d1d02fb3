// One call to the WeChat API: HTTP status is always 200 and the outcome is `errcode` (0 = ok)
// with `errmsg` (CHANNELS.md "Send"). The body is kept as text, because a msgid can exceed 2^53
// and must never go through a plain JSON.parse number: callers take such fields from the text.
import type { ProviderSettings } from '@policy-push/core';

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
  fetch: typeof fetch;
  timeoutMs: number;
}

export async function wechatRequest(http: WechatHttp, url: string, body?: unknown): Promise<WechatReply> {
  let text: string;
  try {
    const res = await http.fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      // Covers the whole exchange, body included: a send that hangs must not hold a worker.
      signal: AbortSignal.timeout(http.timeoutMs),
    });
    text = await res.text();
  } catch (err) {
    const name = (err as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new WechatTransportError('TIMEOUT', `no answer within ${http.timeoutMs} ms (the request may have been taken)`);
    }
    const cause = (err as { cause?: { code?: string } })?.cause?.code;
    throw new WechatTransportError('NETWORK_ERROR', cause ?? (err as Error)?.message ?? String(err));
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
