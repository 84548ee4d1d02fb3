// WeChat Official Account template messages (CHANNELS.md "WeChat Official Account template
// messages"): one POST per message, the delivery id as client_msg_id so that a retry after a
// timeout is deduplicated by WeChat, and each errcode handled as the CHANNELS.md table says.
import { safeError, shanghaiDayEnd } from '@policy-push/core';
import type { ChannelAdapter, OutboundMessage, SendResult } from '../channel';
import { SANDBOX_DEFAULT_TEMPLATE_ID } from '../render';
import { validateMessage } from '../sandbox/validate-message';
import { createWechatPool, exactDigits, type WechatReply, type WechatSettings, wechatRequest, WechatTransportError } from './wechat-http';
import { isTokenError, withAccessToken, WechatTokenError, type WechatTokenSource } from './wechat-token';

export interface WechatAdapterOptions {
  settings: WechatSettings;
  /** Per HTTP call. */
  timeoutMs: number;
  tokens: WechatTokenSource;
  /** Connections to WeChat at most: the sends in flight at once (DISPATCH_CONCURRENCY). Default 32. */
  maxConnections?: number;
  /** For the daily quota's reset at midnight, Asia/Shanghai. */
  now?: () => Date;
}

// CHANNELS.md errcode table.
const TEMPORARY = new Set([-1, 45011]); // system busy; API frequency limit
const DAILY_QUOTA = 45009; // the account's daily template quota is used up
const RECIPIENT = new Set([40003, 43004]); // not a follower of this account (or a wrong openid); must follow first
const BLOCKED = 43019; // the user blocked the account: treat as opted out of WeChat
// invalid appid / template / data format / argument, and the account's template or IP
// permissions: our configuration or content, not the recipient.
const CONFIG = new Set([40036, 40037, 47001, 47003, 40249, 40250, 43116, 48001, 40164, 40013, 40125]);
const DEFER = new Set([40251, 40252]);

export function createWechatAdapter(opts: WechatAdapterOptions): ChannelAdapter {
  const { settings, tokens } = opts;
  const pool = createWechatPool(settings.apiUrl, { connections: opts.maxConnections ?? 32, timeoutMs: opts.timeoutMs });
  const http = { pool, timeoutMs: opts.timeoutMs };
  const now = opts.now ?? (() => new Date());
  const sendUrl = (token: string) => `${settings.apiUrl}/cgi-bin/message/template/send?access_token=${encodeURIComponent(token)}`;

  return {
    channel: 'wechat',
    provider: 'wechat',
    async send(message: OutboundMessage): Promise<SendResult> {
      const problem = validateMessage('wechat', message);
      if (problem || message.channel !== 'wechat') {
        return {
          outcome: 'permanent',
          code: 'INVALID_MESSAGE',
          message: `wechat: ${problem ?? 'not a wechat message'}`,
          configError: true,
        };
      }
      const { content } = message;
      if (content.templateId === SANDBOX_DEFAULT_TEMPLATE_ID) {
        // The department has no template of ours on this Official Account: WeChat would answer 40037.
        return { outcome: 'permanent', code: 'NO_TEMPLATE', message: 'wechat: the department has no WeChat template', configError: true };
      }
      const body = {
        touser: message.to,
        template_id: content.templateId,
        ...(content.url ? { url: content.url } : {}),
        // WeChat drops a repeat of the same openid + client_msg_id for a while: a retry after a
        // timeout then cannot send twice.
        client_msg_id: message.deliveryId,
        data: content.data,
      };
      try {
        const reply = await withAccessToken(tokens, (token) => wechatRequest(http, sendUrl(token), body));
        return classifyWechatReply(reply, now());
      } catch (err) {
        return failure(err);
      }
    },
    /** Closes idle connections now and busy ones once their answer is in. */
    async close() {
      await pool.close();
    },
  };
}

/** An answer of template/send as an outcome (CHANNELS.md errcode table). */
export function classifyWechatReply(reply: WechatReply, now: Date): SendResult {
  const { errcode, errmsg } = reply;
  const msgid = exactDigits(reply.text, 'msgid');
  const raw = { errcode, errmsg, msgid };
  if (errcode === 0) {
    if (!msgid) return { outcome: 'retryable', code: 'BAD_RESPONSE', message: 'wechat: accepted without a msgid', raw };
    return { outcome: 'accepted', providerMessageId: msgid, raw };
  }
  const code = String(errcode);
  const message = `wechat ${errcode}: ${errmsg}`;
  if (TEMPORARY.has(errcode) || DEFER.has(errcode)) return { outcome: 'retryable', code, message, raw };
  // Still rejected after a re-read and a forced refresh: try again later.
  if (isTokenError(errcode)) return { outcome: 'retryable', code, message, raw };
  if (errcode === DAILY_QUOTA) {
    return { outcome: 'retryable', code, message, raw, pauseChannel: true, retryAfterMs: untilShanghaiMidnight(now) };
  }
  if (errcode === BLOCKED) return { outcome: 'permanent', code, message, raw, optOut: true };
  if (RECIPIENT.has(errcode)) return { outcome: 'permanent', code, message, raw };
  if (CONFIG.has(errcode)) return { outcome: 'permanent', code, message, raw, configError: true };
  // A code the table does not know: refused as sent, and worth a look by ops.
  return { outcome: 'permanent', code, message, raw, configError: true };
}

function failure(err: unknown): SendResult {
  if (err instanceof WechatTransportError) {
    // Retried with the same client_msg_id: if the lost request was taken, WeChat drops the repeat.
    return { outcome: 'retryable', code: err.code, message: `wechat: ${err.message}` };
  }
  if (err instanceof WechatTokenError) {
    const configError = err.errcode !== undefined && CONFIG.has(err.errcode);
    if (configError) return { outcome: 'permanent', code: err.code, message: `wechat: ${err.message}`, configError: true };
    return { outcome: 'retryable', code: err.code, message: `wechat: ${err.message}` };
  }
  // The token cache could not be read or written (database): nothing was sent. safeError drops
  // the query parameters, which would hold the token.
  return { outcome: 'retryable', code: 'TOKEN_UNAVAILABLE', message: `wechat: ${String(safeError(err).message)}` };
}

/** Milliseconds from `now` to the next midnight in Asia/Shanghai, when the daily quota resets. */
export function untilShanghaiMidnight(now: Date): number {
  return shanghaiDayEnd(now).getTime() - now.getTime();
}
