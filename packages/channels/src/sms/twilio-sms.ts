// SMS through Twilio's Messages API, with the official `twilio` SDK (CHANNELS.md "SMS through
// Twilio"). Everything the SDK needs comes from the validated settings: the SDK would otherwise
// read TWILIO_* variables from the environment by itself.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ProviderSettings } from '@policy-push/core';
import twilio from 'twilio';
import { Agent, type Dispatcher } from 'undici';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type { ChannelAdapter, SendResult } from '../channel';
import { validateMessage } from '../sandbox/validate-message';

export type TwilioSettings = NonNullable<ProviderSettings['twilio']>;

export interface TwilioSmsAdapterOptions {
  settings: TwilioSettings;
  /** Per request. Short on purpose: a send that times out may still have been accepted (see below). */
  timeoutMs: number;
  /** Our public `/webhooks/twilio/status` URL, sent as `StatusCallback` with every message. */
  statusCallbackUrl: string;
  /** Connections to Twilio at most: the sends in flight at once (DISPATCH_CONCURRENCY). Default 32. */
  maxConnections?: number;
}

// CHANNELS.md "Error codes": how each Twilio error is handled.
const PERMANENT_CODES = new Set([21211, 21614, 30004, 30005, 30006, 30007]); // invalid To, not a mobile, blocked, unknown, landline, filtered
const OPTED_OUT_CODE = 21610; // the recipient replied STOP: permanent, and suppress the channel for them
const RATE_LIMIT_CODE = 20429; // same as HTTP 429: never processed, always safe to retry
const RETRY_LATER_CODES = new Set([30001, 21611]); // queue overflow, sender's queue full
const FEW_RETRIES_CODES = new Set([30003, 30008]); // unreachable handset, unknown error: a few retries (attempt limit)
const AUTH_CODE = 20003; // our credentials are wrong: alert ops

/** Twilio's error fields, as both the SDK's RestException and its RFC 9457 exception carry them. */
interface TwilioApiError {
  status: number;
  code?: number;
  message: string;
}

export function createTwilioSmsAdapter(opts: TwilioSmsAdapterOptions): ChannelAdapter {
  const { settings } = opts;
  const httpClient = new TwilioHttpClient(opts.timeoutMs, settings.apiUrl, opts.maxConnections ?? 32);
  const client = twilio(settings.accountSid, settings.authToken, {
    accountSid: settings.accountSid,
    // Typed as the SDK's own axios client, whose private members no other class can match; the
    // SDK only ever calls its `request`.
    httpClient: httpClient as unknown as RequestClient,
    // Empty rather than absent: `undefined` would let the SDK fall back to TWILIO_EDGE,
    // TWILIO_REGION and TWILIO_LOG_LEVEL from the environment. Neither edge nor region is set.
    env: {},
    edge: '',
    region: '',
    logLevel: '',
    autoRetry: false,
  });
  // The messaging service picks the sender from its pool when configured; otherwise our own number.
  const sender = settings.messagingServiceSid ? { messagingServiceSid: settings.messagingServiceSid } : { from: settings.from };

  return {
    channel: 'sms',
    provider: 'twilio',
    async send(message): Promise<SendResult> {
      const problem = validateMessage('sms', message);
      if (problem || message.channel !== 'sms') {
        return { outcome: 'permanent', code: 'INVALID_MESSAGE', message: `twilio: ${problem ?? 'not an sms message'}` };
      }
      const seen: SeenResponse = {};
      try {
        const created = await responses.run(seen, () =>
          client.messages.create({
            to: message.to,
            ...sender,
            body: message.content.text,
            statusCallback: opts.statusCallbackUrl,
          }),
        );
        return {
          outcome: 'accepted',
          providerMessageId: created.sid,
          raw: { sid: created.sid, status: created.status, num_segments: created.numSegments },
        };
      } catch (err) {
        return classifyTwilioError(err, seen.headers);
      }
    },
    /** Closes idle connections now and busy ones once their answer is in. */
    close: () => httpClient.close(),
  };
}

/** Maps a failed create to an outcome (CHANNELS.md "Error codes"). Exported for its tests. */
export function classifyTwilioError(err: unknown, headers?: Record<string, unknown>, now = Date.now()): SendResult {
  const api = asTwilioApiError(err);
  if (!api) return networkFailure(err);
  const code = api.code;
  const raw = { status: api.status, code: code ?? null, message: api.message };
  const label = String(code ?? `HTTP_${api.status}`);
  const text = `twilio ${label}: ${api.message}`;

  if (code === RATE_LIMIT_CODE || api.status === 429) {
    // Too many requests for the whole account: pause the channel, for as long as Twilio asked.
    const retryAfterMs = parseRetryAfter(headers?.['retry-after'], now);
    return {
      outcome: 'retryable',
      code: label,
      message: text,
      pauseChannel: true,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      raw,
    };
  }
  if (code === OPTED_OUT_CODE) return { outcome: 'permanent', code: label, message: text, optOut: true, raw };
  if (code === AUTH_CODE) return { outcome: 'permanent', code: label, message: text, configError: true, raw };
  if (code !== undefined && PERMANENT_CODES.has(code)) return { outcome: 'permanent', code: label, message: text, raw };
  if (code !== undefined && (RETRY_LATER_CODES.has(code) || FEW_RETRIES_CODES.has(code))) {
    return { outcome: 'retryable', code: label, message: text, raw };
  }
  // Not in the table: Twilio's own trouble is worth another try; any other refusal of this
  // request would be refused again. A 401/403/404 means our account settings are wrong.
  if (api.status >= 500) return { outcome: 'retryable', code: label, message: text, raw };
  const configError = api.status === 401 || api.status === 403 || api.status === 404;
  return { outcome: 'permanent', code: label, message: text, ...(configError ? { configError } : {}), raw };
}

function asTwilioApiError(err: unknown): TwilioApiError | null {
  if (err instanceof twilio.RestException) return { status: err.status, code: err.code, message: withoutPhoneNumbers(err.message) };
  // The SDK's RFC 9457 exception (newer APIs) is not exported by name; it carries the same fields.
  const e = err as { status?: unknown; code?: unknown; title?: unknown } | null;
  if (e && typeof e.status === 'number' && typeof e.code === 'number' && typeof e.title === 'string') {
    return { status: e.status, code: e.code, message: withoutPhoneNumbers(e.title) };
  }
  return null;
}

// Twilio's messages can name the recipient ("The 'To' number +1555… is not a valid phone
// number."); the message ends up in attempts and logs, which never hold a full phone number.
function withoutPhoneNumbers(text: string): string {
  return text.replace(/\+?\d[\d ()-]{5,}\d/g, '[number]');
}

// No answer: the connection failed, or the request timed out. A timed-out create may have been
// accepted by Twilio before the answer was lost, and Twilio has no idempotency key for message
// creation (CHANNELS.md): the retry can then send the SMS twice. The short timeout keeps that
// window small; the outbox row (one delivery per contact, policy and channel) bounds it to the
// retries of one delivery. undici's timeouts once the request was written are the ones that
// count; a connection that never came up (UND_ERR_CONNECT_TIMEOUT) took nothing.
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function networkFailure(err: unknown): SendResult {
  const e = err as { code?: unknown; message?: unknown } | null;
  const errCode = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const timedOut = errCode !== undefined && TIMEOUT_CODES.has(errCode);
  return {
    outcome: 'retryable',
    code: timedOut ? 'TIMEOUT' : 'NETWORK_ERROR',
    message: `twilio: ${timedOut ? 'no answer in time (the message may have been accepted)' : message}`,
    raw: { error: errCode ?? null },
  };
}

/** Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3); answers milliseconds. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// ---------------------------------------------------------------------------------------------
// The SDK's HTTP client: undici instead of the SDK's axios (most of a send's CPU), with our
// timeout, our origin and bounded keep-alive connections.

interface SeenResponse {
  headers?: Record<string, unknown>;
}
// The SDK's exceptions drop the response headers, and a 429's Retry-After is one. Each send runs
// in its own async context, so concurrent sends on the one client each see their own response.
const responses = new AsyncLocalStorage<SeenResponse>();

/**
 * What the SDK asks of its `httpClient` (BaseTwilio.request): `request({ method, uri, username,
 * password, headers, params, data, timeout })` answering `{ statusCode, body, headers }`; the SDK
 * parses a string body and raises its own exceptions. The SDK has no base-URL option
 * (CHANNELS.md): requests go to `apiUrl`'s origin (and path prefix) when that is set — a fake in
 * tests, a relay in restricted networks.
 */
class TwilioHttpClient {
  private readonly base?: URL;
  private readonly agent: Agent;

  constructor(
    private readonly timeoutMs: number,
    apiUrl: string | undefined,
    connections: number,
  ) {
    this.base = apiUrl ? new URL(apiUrl) : undefined;
    // One pool of at most `connections` keep-alive connections per origin (only Twilio's here).
    this.agent = new Agent({ connections, connect: { timeout: timeoutMs } });
  }

  async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<{ statusCode: number; body: unknown; headers: unknown }> {
    const uri = this.base ? rebase(opts.uri, this.base) : new URL(opts.uri);
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string> | undefined) };
    if (opts.username && opts.password) {
      headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    }
    // The SDK sends forms only (its JSON bodies belong to APIs we do not call).
    const body = opts.data ? formEncode(opts.data as Record<string, unknown>) : undefined;
    const query = opts.params ? formEncode(opts.params as Record<string, unknown>) : '';
    const timeout = opts.timeout ?? this.timeoutMs;
    const res = await this.agent.request({
      origin: uri.origin,
      path: uri.pathname + (query ? `${uri.search ? `${uri.search}&` : '?'}${query}` : uri.search),
      method: opts.method.toUpperCase() as Dispatcher.HttpMethod,
      headers,
      body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    const seen = responses.getStore();
    if (seen) seen.headers = res.headers;
    return { statusCode: res.statusCode, body: text, headers: res.headers };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** application/x-www-form-urlencoded as the SDK's axios client sent it: arrays repeat the key, undefined is left out. */
function formEncode(fields: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) form.append(key, v === null ? '' : String(v));
  }
  return form.toString();
}

function rebase(uri: string, base: URL): URL {
  const u = new URL(uri);
  const prefix = base.pathname.replace(/\/$/, '');
  return new URL(`${base.origin}${prefix}${u.pathname}${u.search}`);
}
