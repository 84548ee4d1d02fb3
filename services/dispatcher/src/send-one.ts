import { type Channel, type ChannelAdapter, renderOutbound, type SendResult } from '@policy-push/channels';
import { type DispatcherSettings, retryDelayMs, signToken } from '@policy-push/core';
import type { ClaimedDelivery, SendContext, SendOutcome } from '@policy-push/db';

export interface SendDeps {
  adapters: Record<Channel, ChannelAdapter>;
  settings: DispatcherSettings;
  publicBaseUrl: string;
  smsSegmentBudget: number;
  signingSecret: string;
  random?: () => number;
}

const ADDRESS = { wechat: 'wechatOpenid', sms: 'phone', email: 'email' } as const;

/**
 * Decides and performs one claimed delivery: checks it is still wanted, renders it, calls the
 * channel and turns the answer into the delivery's next state.
 */
export async function sendOne(d: ClaimedDelivery, ctx: SendContext, deps: SendDeps): Promise<SendOutcome> {
  const end = (status: SendOutcome['status'], errorCode: string | null): SendOutcome => ({
    id: d.id,
    attempt: d.attempts,
    status,
    providerMessageId: null,
    errorCode,
    retryInMs: 0,
    attemptRecord: null,
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

  const started = performance.now();
  let result: SendResult;
  try {
    result = await deps.adapters[d.channel].send(message);
  } catch (err) {
    // An adapter that throws has not told us the message was refused: treat it as temporary.
    result = { outcome: 'retryable', code: 'adapter_error', message: (err as Error).message };
  }
  const latencyMs = Math.round(performance.now() - started);
  return toOutcome(d, result, latencyMs, deps);
}

function toOutcome(d: ClaimedDelivery, result: SendResult, latencyMs: number, deps: SendDeps): SendOutcome {
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
      return { ...base, status: 'sent', providerMessageId: result.providerMessageId, errorCode: null };
    case 'permanent':
      return { ...base, status: 'failed', providerMessageId: null, errorCode: result.code };
    case 'retryable': {
      if (d.attempts >= deps.settings.maxAttempts[d.channel]) {
        return { ...base, status: 'failed', providerMessageId: null, errorCode: result.code };
      }
      const backoff = retryDelayMs(
        d.attempts,
        { baseMs: deps.settings.retryBaseMs, capMs: deps.settings.retryCapMs },
        deps.random ?? Math.random,
      );
      return {
        ...base,
        status: 'pending',
        providerMessageId: null,
        errorCode: result.code,
        retryInMs: Math.max(backoff, result.retryAfterMs ?? 0),
      };
    }
  }
}

// A signed one-click link that opts this contact out of this channel; it outlives any message.
const UNSUBSCRIBE_LINK_DAYS = 400;
function unsubscribeLink(deliveryId: number, deps: SendDeps): string {
  const expires = new Date(Date.now() + UNSUBSCRIBE_LINK_DAYS * 86_400_000);
  return `${deps.publicBaseUrl}/u/${signToken(deps.signingSecret, 'unsubscribe', String(deliveryId), expires)}`;
}
