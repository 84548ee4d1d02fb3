import { type Channel, type ChannelAdapter, type OutboundMessage, renderOutbound, type SendResult } from '@policy-push/channels';
import {
  addressOn,
  type DispatcherSettings,
  emailConfirmationLink,
  isReachable,
  messageLinks,
  normaliseLocale,
  noticeSummaries,
  preferencesLink,
  quietUntil,
  reminderSummaries,
  renderConfirmationEmail,
  retryDelayMs,
  unsubscribeLink,
  shanghaiDayEnd,
} from '@policy-push/core';
import {
  addressKey,
  type ClaimedDelivery,
  type DigestItem,
  type PolicyForMessage,
  type SendContext,
  type SendOutcome,
} from '@policy-push/db';
import type { CircuitBreaker } from './circuit-breaker';
import type { RateLimiter } from './rate-limiter';

export interface SendDeps {
  adapters: Record<Channel, ChannelAdapter>;
  /** The sandbox, for policies published with a test key; absent, only a sandbox live adapter will do. */
  testAdapters?: Record<Channel, ChannelAdapter>;
  breakers: Record<Channel, CircuitBreaker>;
  limiter: RateLimiter;
  settings: DispatcherSettings;
  publicBaseUrl: string;
  smsSegmentBudget: number;
  signingSecret: string;
  now: () => number;
  random?: () => number;
}

/** Pushes each address got today (per-recipient cap), shared by one batch's sends. */
export interface CapState {
  day: string;
  counts: Map<string, number>;
}

/** What the sends of one claimed batch share. */
export interface BatchState {
  /** Today's per-recipient counts, when the cap is on. */
  cap?: CapState;
  /** Until when (epoch ms) a send may wait for its channel's allowance before going back to the queue. */
  allowanceWaitUntil: number;
}

/** One delivery's next state, and what else the send taught us about the contact or the channel. */
export interface SendDecision {
  outcome: SendOutcome;
  /** The address's cap key, when this send counts against the per-recipient cap. */
  addressKey?: string;
  /** Close the channel to claims until then (a provider's 429 or quota). */
  pause?: { until: Date; reason: string };
  /** The recipient refused this channel: opt the contact out of it. */
  optOut?: boolean;
  /** Our configuration or template is wrong: for ops, not the recipient. */
  configError?: string;
}

/** How long a batch's sends wait for their channels' per-second allowances: one window. */
export const ALLOWANCE_WAIT_MS = 1_000;

/** An update notice leads with what changed since the version the reader had. */
function summaries(d: ClaimedDelivery, policy: PolicyForMessage): { summary: string; summaryEn: string | null; titleEn: string | null } {
  // A reminder says what the policy asks and by when.
  if (d.kind === 'reminder') return { ...reminderSummaries(policy, policy.actionBy ?? null), titleEn: policy.titleEn };
  const kind = d.kind === 'update' || d.kind === 'revocation' ? d.kind : 'policy';
  return { ...noticeSummaries(kind, policy.previous, policy), titleEn: policy.titleEn };
}

/** Whether the policy still wants this delivery: revocation notices go out for revoked policies only. */
function stillWanted(d: ClaimedDelivery, policy: PolicyForMessage): boolean {
  if (d.kind === 'revocation') return policy.status === 'revoked';
  if (d.kind === 'digest' || d.kind === 'confirmation') return true;
  // A reminder belongs to the policy, not to a version (its policyVersion is null).
  if (d.kind === 'reminder') return policy.status === 'published';
  return policy.status === 'published' && policy.version === d.policyVersion;
}

/**
 * Decides and performs one claimed delivery: checks it is still wanted, renders it, waits for the
 * provider's allowance (until the batch's deadline), calls the channel and turns the answer into the
 * delivery's next state.
 */
export async function sendOne(d: ClaimedDelivery, ctx: SendContext, deps: SendDeps, batch: BatchState): Promise<SendDecision> {
  const { cap } = batch;
  const end = (status: SendOutcome['status'], errorCode: string | null): SendDecision => ({
    outcome: { id: d.id, attempt: d.attempts, status, providerMessageId: null, errorCode, retryInMs: 0, attemptRecord: null },
  });

  const contact = ctx.contacts.get(d.contactId);
  // Unreachable since the fan-out (the one rule, @policy-push/core reachable.ts): never send. A
  // confirmation email goes, by its nature, to an address not confirmed yet.
  const rule = { requireConfirmedEmail: deps.settings.requireConfirmedEmail && d.kind !== 'confirmation' };
  const to = contact && isReachable(contact, d.channel, rule) ? addressOn(contact, d.channel) : null;
  if (!contact || !to) return end('suppressed', 'contact_unreachable');
  const policy =
    d.kind === 'digest'
      ? digestAsPolicy(d, ctx.digests.get(d.id) ?? [], deps)
      : d.kind === 'confirmation'
        ? serviceMessage(deps)
        : ctx.policies.get(d.policyId ?? 0);
  if (!policy || !stillWanted(d, policy)) return end('cancelled', 'policy_withdrawn');
  if (d.kind === 'reminder') {
    // Stopped by engagement: the enterprise opened or read the policy since the step was taken.
    if (ctx.engagedReminders.has(d.id)) return end('cancelled', 'engaged');
    if (policy.actionBy && policy.actionBy.getTime() <= deps.now()) return end('cancelled', 'too_late');
  }
  if (d.attempts > deps.settings.maxAttempts[d.channel]) return end('failed', 'attempts_exhausted');
  // A test key's policy never reaches a provider, whatever is configured.
  const adapter = policy.test ? sandboxFor(d.channel, deps) : deps.adapters[d.channel];
  if (!adapter) return end('failed', 'no_sandbox');
  // A reminder is never urgent: it waits out quiet hours like any other.
  const urgent = policy.priority === 'urgent' && d.kind !== 'reminder';
  if (!urgent && d.channel !== 'email') {
    // Nobody gets a text or a WeChat message at night; email is read when the reader chooses.
    const opens = quietUntil(new Date(deps.now()), contact.quietHours ?? deps.settings.quietHours);
    if (opens) return wait(d, policy, deps, opens.getTime(), 'quiet_hours', null, false);
  }
  // The per-recipient cap: one accountant's phone must not get twenty pushes a day. What is over
  // it waits for the contact's next daily digest instead of being dropped. Urgent ones go through.
  const capKey =
    cap && !urgent && !policy.test && (d.kind === 'policy' || d.kind === 'update' || d.kind === 'reminder')
      ? addressKey(d.channel, to)
      : undefined;
  if (capKey && cap) {
    const used = cap.counts.get(capKey) ?? 0;
    // A reminder is never folded into a digest: it waits for the next Beijing day, or is dropped
    // as too late when that is past the policy's actionBy.
    if (used >= deps.settings.recipientDailyCap && d.kind === 'reminder') {
      return wait(d, policy, deps, shanghaiDayEnd(new Date(deps.now())).getTime(), 'recipient_cap', null, false);
    }
    if (used >= deps.settings.recipientDailyCap) {
      return { outcome: { ...end('held', 'recipient_cap').outcome, uncounted: true, holdFor: 'daily' } };
    }
    cap.counts.set(capKey, used + 1);
  }

  const message: OutboundMessage =
    d.kind === 'confirmation' && d.channel === 'email'
      ? confirmationMessage(d, to, contact.locale, deps)
      : renderOutbound({
          deliveryId: String(d.id),
          channel: d.channel,
          to,
          locale: contact.locale,
          kind: d.kind === 'digest' || d.kind === 'confirmation' ? 'policy' : d.kind,
          policy: {
            title: policy.title,
            ...summaries(d, policy),
            url: policy.url,
            docNumber: policy.docNumber,
            publishedAt: policy.publishAt,
            urgent,
          },
          department: policy.department,
          // Every message links through the signed open redirect (/r/…), which counts the open
          // for awareness and then leads to the policy (a digest's leads to the contact's inbox).
          links: messageLinks(deps.publicBaseUrl, deps.signingSecret, { deliveryId: d.id, contactId: d.contactId }, new Date(deps.now())),
          smsSegmentBudget: deps.smsSegmentBudget,
        });

  // Test sends spend none of a provider's quota and say nothing about its health.
  if (policy.test) {
    const result = await sendThrough(adapter, message);
    // A simulated 429 must not pause the real channel for everyone.
    if (result.outcome === 'retryable') result.pauseChannel = false;
    return decide(d, policy, result, adapter, deps);
  }
  // A send waits for its channel's allowance only until the batch's deadline, then goes back to the
  // queue: the batch is acked when its slowest send ends, and the other channels' messages in it
  // (an urgent WeChat notice among throttled SMS) must not wait with it.
  // The circuit first: a send it refuses must not spend the provider's allowance.
  const breaker = deps.breakers[d.channel];
  if (!breaker.allow()) return wait(d, policy, deps, deps.now() + breaker.waitMs(), 'circuit_open', null);
  const units = message.channel === 'sms' ? message.content.segments : 1;
  const permit = await deps.limiter.acquire(d.channel, units, batch.allowanceWaitUntil);
  if (!permit.ok) breaker.release();
  if (!permit.ok && permit.quota) {
    return { ...wait(d, policy, deps, permit.until.getTime(), 'quota_spent', null), pause: { until: permit.until, reason: 'quota_spent' } };
  }
  if (!permit.ok) return wait(d, policy, deps, permit.until.getTime(), 'allowance_spent', null);

  const result = await sendThrough(adapter, message);
  // Only the provider failing counts against it; a refused message is the provider working.
  breaker.record(result.outcome !== 'retryable' || !!result.pauseChannel);
  const decision = decide(d, policy, result, adapter, deps);
  return decision.outcome.status === 'sent' && capKey ? { ...decision, addressKey: capKey } : decision;
}

function sandboxFor(channel: Channel, deps: SendDeps): ChannelAdapter | undefined {
  return deps.testAdapters?.[channel] ?? (deps.adapters[channel].provider === 'sandbox' ? deps.adapters[channel] : undefined);
}

type Answered = SendResult & { latencyMs: number; answeredAt: number };

async function sendThrough(adapter: ChannelAdapter, message: OutboundMessage): Promise<Answered> {
  const started = performance.now();
  let result: SendResult;
  try {
    result = await adapter.send(message);
  } catch (err) {
    // An adapter that throws has not told us the message was refused: treat it as temporary.
    result = { outcome: 'retryable', code: 'adapter_error', message: (err as Error).message };
  }
  const answeredAt = performance.now();
  return { ...result, latencyMs: Math.round(answeredAt - started), answeredAt };
}

function decide(d: ClaimedDelivery, policy: PolicyForMessage, result: Answered, adapter: ChannelAdapter, deps: SendDeps): SendDecision {
  const latencyMs = result.latencyMs;
  const attemptRecord = {
    outcome: result.outcome,
    provider: adapter.provider,
    providerCode: result.outcome === 'accepted' ? null : result.code,
    error: result.outcome === 'accepted' ? null : result.message,
    latencyMs,
    response: result.raw,
  };
  const base = { id: d.id, attempt: d.attempts, attemptRecord, retryInMs: 0, answeredAt: result.answeredAt };
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
 * The channel is closed until `until` (a pause, a spent quota, an open circuit, quiet hours). The
 * delivery waits for it without spending an attempt — unless that is past its deliver-by time (a
 * day; minutes for urgent policies), when it ends here and falls back to the contact's next
 * channel. Quiet hours never fall back: the morning is the sensible hour, on any channel.
 */
function wait(
  d: ClaimedDelivery,
  policy: PolicyForMessage,
  deps: SendDeps,
  until: number,
  code: string,
  attemptRecord: SendOutcome['attemptRecord'],
  fallsBack = true,
): SendDecision {
  const minutes = deps.settings.deliverByMinutes[policy.priority === 'urgent' ? 'urgent' : 'normal'];
  const deliverBy = policy.publishAt.getTime() + minutes * 60_000;
  const base = { id: d.id, attempt: d.attempts, providerMessageId: null, attemptRecord };
  // A reminder's deadline is the policy's actionBy: one that would go after it is dropped, counted
  // as too late. Until then it waits (it never falls back: it was sent on the contact's next channel already).
  if (d.kind === 'reminder') {
    if (policy.actionBy && until >= policy.actionBy.getTime())
      return { outcome: { ...base, status: 'cancelled', errorCode: 'too_late', retryInMs: 0 } };
    return { outcome: { ...base, status: 'pending', errorCode: code, retryInMs: Math.max(0, until - deps.now()), uncounted: true } };
  }
  if (fallsBack && until > deliverBy) return { outcome: { ...base, status: 'failed', errorCode: code, retryInMs: 0 } };
  return { outcome: { ...base, status: 'pending', errorCode: code, retryInMs: Math.max(0, until - deps.now()), uncounted: true } };
}

/**
 * A digest reads like one message about several policies: how many and the first title, the titles
 * listed as its summary, and a link to the contact's inbox on the preferences page, where each one
 * can be opened. Null when every policy in it was withdrawn since.
 */
function digestAsPolicy(d: ClaimedDelivery, items: DigestItem[], deps: SendDeps): PolicyForMessage | undefined {
  if (!items.length) return undefined;
  const now = new Date(deps.now());
  const english = items.every((i) => i.titleEn);
  return {
    id: 0,
    version: 0,
    status: 'published',
    docNumber: now.toISOString().slice(0, 10).replaceAll('-', ''),
    title: `${items.length}项新政策：${items[0].title}`,
    summary: items.map((i) => i.title).join('；'),
    titleEn: english ? `${items.length} new policies: ${items[0].titleEn}` : null,
    summaryEn: english ? items.map((i) => i.titleEn).join('; ') : null,
    url: preferencesLink(deps.publicBaseUrl, deps.signingSecret, d.contactId, now),
    priority: 'normal',
    publishAt: now,
    interpretationUrls: [],
    validUntil: null,
    previous: null,
    department: items[0].department,
  };
}

/** Messages of the service itself (an email confirmation) have no policy: they are due now. */
function serviceMessage(deps: SendDeps): PolicyForMessage {
  const now = new Date(deps.now());
  return {
    id: 0,
    version: 0,
    status: 'published',
    docNumber: '',
    title: '',
    summary: '',
    titleEn: null,
    summaryEn: null,
    url: deps.publicBaseUrl,
    priority: 'normal',
    publishAt: now,
    interpretationUrls: [],
    validUntil: null,
    previous: null,
    department: { nameZh: '', nameEn: '', smsSignature: '', wechatTemplate: null },
  };
}

/** The confirmation email: a signed link that confirms exactly this contact's current address. */
function confirmationMessage(d: ClaimedDelivery, email: string, locale: string, deps: SendDeps): OutboundMessage {
  const link = emailConfirmationLink(deps.publicBaseUrl, deps.signingSecret, d.contactId, email, new Date(deps.now()));
  return {
    deliveryId: String(d.id),
    channel: 'email',
    to: email,
    content: {
      ...renderConfirmationEmail(normaliseLocale(locale), link),
      unsubscribeUrl: unsubscribeLink(deps.publicBaseUrl, deps.signingSecret, d.id, new Date(deps.now())),
    },
  };
}
