import { type Channel, type ChannelAdapter, renderOutbound, type SendResult } from '@policy-push/channels';
import { type DispatcherSettings, retryDelayMs, signToken } from '@policy-push/core';
import type { ClaimedDelivery, PolicyForMessage, SendContext, SendOutcome } from '@policy-push/db';
import type { CircuitBreaker } from './circuit-breaker';
import type { RateLimiter } from './rate-limiter';

export interface SendDeps {
  adapters: Record<Channel, ChannelAdapter>;
  breakers: Record<Channel, CircuitBreaker>;
  limiter: RateLimiter;
  settings: DispatcherSettings;
  publicBaseUrl: string;
  smsSegmentBudget: number;
  signingSecret: string;
  now: () => number;
  random?: () => number;
}

/** One delivery's next state, and what else the send taught us about the contact or the channel. */
export interface SendDecision {
  outcome: SendOutcome;
  /** Close the channel to claims until then (a provider's 429 or quota). */
  pause?: { until: Date; reason: string };
  /** The recipient refused this channel: opt the contact out of it. */
  optOut?: boolean;
  /** Our configuration or template is wrong: for ops, not the recipient. */
  configError?: string;
}

const ADDRESS = { wechat: 'wechatOpenid', sms: 'phone', email: 'email' } as const;

/**
 * Decides and performs one claimed delivery: checks it is still wanted, renders it, waits for the
 * provider's allowance, calls the channel and turns the answer into the delivery's next state.
 */
export async function sendOne(d: ClaimedDelivery, ctx: SendContext, deps: SendDeps): Promise<SendDecision> {
  const end = (status: SendOutcome['status'], errorCode: string | null): SendDecision => ({
    outcome: { id: d.id, attempt: d.attempts, status, providerMessageId: null, errorCode, retryInMs: 0, attemptRecord: null },
  });

  const contact = ctx.contacts.get(d.contactId);
  const to = contact?.[ADDRESS[d.channel]];
  // Opted out or unreachable since the fan-out: never send.
  if (!contact || contact.suppressed || contact.optedOut.includes(d.channel) || !to) return end('suppressed', 'contact_unreachable');
  const policy = d.policyId === null ? undefined : ctx.policies.get(d.policyId);
  if (!policy || policy.status !== 'published' || policy.version !== d.policyVersion) return end('cancelled', 'policy_withdrawn');
  if (d.attempts > deps.settings.maxAttempts[d.channel]) return end('failed', 'attempts_exhausted');

  const message = renderOutbound({
    deliveryId: String(d.id),
    channel: d.channel,
    to,
    locale: contact.locale,
    kind: d.kind === 'digest' ? 'policy' : d.kind,
    policy: {
      title: policy.title,
      summary: policy.summary,
      titleEn: policy.titleEn,
      summaryEn: policy.summaryEn,
      url: policy.url,
      docNumber: policy.docNumber,
      publishedAt: policy.publishAt,
      urgent: policy.priority === 'urgent',
    },
    department: policy.department,
    links: { policy: policy.url, unsubscribe: unsubscribeLink(d.id, deps) },
    smsSegmentBudget: deps.smsSegmentBudget,
  });

  const permit = await deps.limiter.acquire(d.channel, message.channel === 'sms' ? message.content.segments : 1);
  if (!permit.ok) {
    return { ...wait(d, policy, deps, permit.until.getTime(), 'quota_spent', null), pause: { until: permit.until, reason: 'quota_spent' } };
  }
  const breaker = deps.breakers[d.channel];
  if (!breaker.allow()) return wait(d, policy, deps, deps.now() + breaker.waitMs(), 'circuit_open', null);

  const started = performance.now();
  let result: SendResult;
  try {
    result = await deps.adapters[d.channel].send(message);
  } catch (err) {
    // An adapter that throws has not told us the message was refused: treat it as temporary.
    result = { outcome: 'retryable', code: 'adapter_error', message: (err as Error).message };
  }
  const latencyMs = Math.round(performance.now() - started);
  // Only the provider failing counts against it; a refused message is the provider working.
  breaker.record(result.outcome !== 'retryable' || !!result.pauseChannel);
  return decide(d, policy, result, latencyMs, deps);
}

function decide(d: ClaimedDelivery, policy: PolicyForMessage, result: SendResult, latencyMs: number, deps: SendDeps): SendDecision {
  const attemptRecord = {
    outcome: result.outcome,
    providerCode: result.outcome === 'accepted' ? null : result.code,
    error: result.outcome === 'accepted' ? null : result.message,
    latencyMs,
    response: result.raw,
  };
  const base = { id: d.id, attempt: d.attempts, attemptRecord, retryInMs: 0 };
  switch (result.outcome) {
    case 'accepted':
      return { outcome: { ...base, status: 'sent', providerMessageId: result.providerMessageId, errorCode: null } };
    case 'permanent':
      return {
        outcome: { ...base, status: 'failed', providerMessageId: null, errorCode: result.code },
        optOut: result.optOut,
        configError: result.configError ? `${result.code}: ${result.message}` : undefined,
      };
    case 'retryable': {
      if (result.pauseChannel) {
        const until = new Date(deps.now() + (result.retryAfterMs ?? 60_000));
        return { ...wait(d, policy, deps, until.getTime(), result.code, attemptRecord), pause: { until, reason: result.code } };
      }
      if (d.attempts >= deps.settings.maxAttempts[d.channel]) {
        return { outcome: { ...base, status: 'failed', providerMessageId: null, errorCode: result.code } };
      }
      const backoff = retryDelayMs(
        d.attempts,
        { baseMs: deps.settings.retryBaseMs, capMs: deps.settings.retryCapMs },
        deps.random ?? Math.random,
      );
      return {
        outcome: {
          ...base,
          status: 'pending',
          providerMessageId: null,
          errorCode: result.code,
          retryInMs: Math.max(backoff, result.retryAfterMs ?? 0),
        },
      };
    }
  }
}

/**
 * The channel is closed until `until` (a pause, a spent quota, an open circuit). The delivery waits
 * for it without spending an attempt — unless that is past its deliver-by time (a day; minutes for
 * urgent policies), when it ends here and falls back to the contact's next channel.
 */
function wait(
  d: ClaimedDelivery,
  policy: PolicyForMessage,
  deps: SendDeps,
  until: number,
  code: string,
  attemptRecord: SendOutcome['attemptRecord'],
): SendDecision {
  const minutes = deps.settings.deliverByMinutes[policy.priority === 'urgent' ? 'urgent' : 'normal'];
  const deliverBy = policy.publishAt.getTime() + minutes * 60_000;
  const base = { id: d.id, attempt: d.attempts, providerMessageId: null, attemptRecord };
  if (until > deliverBy) return { outcome: { ...base, status: 'failed', errorCode: code, retryInMs: 0 } };
  return { outcome: { ...base, status: 'pending', errorCode: code, retryInMs: Math.max(0, until - deps.now()), uncounted: true } };
}

// A signed one-click link that opts this contact out of this channel; it outlives any message.
const UNSUBSCRIBE_LINK_DAYS = 400;
function unsubscribeLink(deliveryId: number, deps: SendDeps): string {
  const expires = new Date(deps.now() + UNSUBSCRIBE_LINK_DAYS * 86_400_000);
  return `${deps.publicBaseUrl}/u/${signToken(deps.signingSecret, 'unsubscribe', String(deliveryId), expires)}`;
}
