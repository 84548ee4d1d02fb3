import {
  type Channel,
  type ChannelAdapter,
  type DeliveryContext,
  type OutboundMessage,
  renderOutbound,
  type SendResult,
} from '@policy-push/channels';
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
  shanghaiDayEnd,
  unsubscribeLink,
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

/**
 * What a delivery is about: a policy (its notice, an update, a revocation or a reminder), a digest
 * listing several, or a confirmation email of the service itself, which has no policy.
 */
export type SendSubject = { kind: 'policy'; policy: PolicyForMessage } | { kind: 'digest'; items: DigestItem[] } | { kind: 'confirmation' };

type Contact = NonNullable<ReturnType<SendContext['contacts']['get']>>;

/** One claimed delivery, with what its gates, its message and its outcome are decided from. */
interface Send {
  d: ClaimedDelivery;
  contact: Contact;
  to: string;
  subject: SendSubject;
  /** Published with a test key: goes through the sandbox only, whatever providers are configured. */
  test: boolean;
  /** An urgent policy's notice, update or revocation (a reminder never is). */
  urgent: boolean;
  /** When the deliver-by time counts from: the policy's publication; for a digest or a confirmation, now. */
  dueSince: Date;
  /** What the policy asks must be done by then (a reminder is not sent after it). */
  actionBy: Date | null;
  /** A reminder whose enterprise opened or read the policy since it was planned. */
  engaged: boolean;
  /** The adapter it goes through; none for a test send when there is no sandbox. */
  adapter: ChannelAdapter | undefined;
  /** The address's key, when this send counts against the per-recipient cap. */
  capKey: string | undefined;
  deps: SendDeps;
  batch: BatchState;
}

/** A gate passes (null) or forces the delivery's outcome without a send. */
type Gate = (s: Send) => SendDecision | null;
const pass = null;

/**
 * Decides and performs one claimed delivery: its gates (still wanted, reachable, not too late,
 * not at night, under the cap), its message, the provider's gates (circuit, allowance) and the
 * call, and the answer classified into the delivery's next state.
 */
export async function sendOne(d: ClaimedDelivery, ctx: SendContext, deps: SendDeps, batch: BatchState): Promise<SendDecision> {
  const s = resolve(d, ctx, deps, batch);
  if ('outcome' in s) return s;
  const forced = firstForced(DELIVERY_GATES, s);
  if (forced) return forced;
  if (!s.adapter) throw new Error('sendOne: a delivery without an adapter passed the sandbox gate');
  const message = render(s);
  // Test sends spend none of a provider's quota and say nothing about its health.
  if (s.test) return classify(s, testResult(await sendThrough(s.adapter, message)), s.adapter);
  const held = circuitClosed(s) ?? (await allowanceTaken(s, message));
  if (held) return held;
  const result = await sendThrough(s.adapter, message);
  // Only the provider failing counts against it; a refused message is the provider working.
  deps.breakers[d.channel].record(result.outcome !== 'retryable' || !!result.pauseChannel);
  const decision = classify(s, result, s.adapter);
  return decision.outcome.status === 'sent' && s.capKey ? { ...decision, addressKey: s.capKey } : decision;
}

function firstForced(gates: Gate[], s: Send): SendDecision | null {
  for (const gate of gates) {
    const forced = gate(s);
    if (forced) return forced;
  }
  return pass;
}

/** The delivery ends here, unsent. */
function end(d: ClaimedDelivery, status: SendOutcome['status'], errorCode: string | null): SendDecision {
  return { outcome: { id: d.id, attempt: d.attempts, status, providerMessageId: null, errorCode, retryInMs: 0, attemptRecord: null } };
}

/**
 * The first two gates, which find what the others work on: an address the contact can still be
 * reached at, and a subject that still wants this delivery.
 */
function resolve(d: ClaimedDelivery, ctx: SendContext, deps: SendDeps, batch: BatchState): Send | SendDecision {
  const contact = ctx.contacts.get(d.contactId);
  // Unreachable since the fan-out (the one rule, @policy-push/core reachable.ts): never send. A
  // confirmation email goes, by its nature, to an address not confirmed yet.
  const rule = { requireConfirmedEmail: deps.settings.requireConfirmedEmail && d.kind !== 'confirmation' };
  const to = contact && isReachable(contact, d.channel, rule) ? addressOn(contact, d.channel) : null;
  if (!contact || !to) return end(d, 'suppressed', 'contact_unreachable');
  const subject = subjectOf(d, ctx);
  if (!subject || !stillWanted(d, subject)) return end(d, 'cancelled', 'policy_withdrawn');

  const policy = subject.kind === 'policy' ? subject.policy : null;
  const test = policy?.test === true;
  // A reminder is never urgent: it waits out quiet hours like any other.
  const urgent = policy?.priority === 'urgent' && d.kind !== 'reminder';
  // The per-recipient cap counts policies, updates and reminders, not urgent or test ones.
  const capped = batch.cap && !urgent && !test && (d.kind === 'policy' || d.kind === 'update' || d.kind === 'reminder');
  return {
    d,
    contact,
    to,
    subject,
    test,
    urgent,
    dueSince: policy?.publishAt ?? new Date(deps.now()),
    actionBy: policy?.actionBy ?? null,
    engaged: ctx.engagedReminders.has(d.id),
    // A test key's policy never reaches a provider, whatever is configured.
    adapter: test ? sandboxFor(d.channel, deps) : deps.adapters[d.channel],
    capKey: capped ? addressKey(d.channel, to) : undefined,
    deps,
    batch,
  };
}

function subjectOf(d: ClaimedDelivery, ctx: SendContext): SendSubject | undefined {
  if (d.kind === 'digest') return { kind: 'digest', items: ctx.digests.get(d.id) ?? [] };
  if (d.kind === 'confirmation') return { kind: 'confirmation' };
  const policy = d.policyId === null ? undefined : ctx.policies.get(d.policyId);
  return policy && { kind: 'policy', policy };
}

/** Whether the subject still wants this delivery: revocation notices go out for revoked policies only. */
function stillWanted(d: ClaimedDelivery, subject: SendSubject): boolean {
  // A digest whose every policy was withdrawn since has nothing left to say.
  if (subject.kind === 'digest') return subject.items.length > 0;
  // A confirmation is an email (the only channel it is made for).
  if (subject.kind === 'confirmation') return d.channel === 'email';
  const { policy } = subject;
  if (d.kind === 'revocation') return policy.status === 'revoked';
  // A reminder belongs to the policy, not to a version (its policyVersion is null).
  if (d.kind === 'reminder') return policy.status === 'published';
  return policy.status === 'published' && policy.version === d.policyVersion;
}

// ---------------------------------------------------------------------------------------------
// The gates before the message is rendered, in order.

/** Stopped by engagement: the enterprise opened or read the policy since the reminder was planned. */
const reminderNotEngaged: Gate = (s) => (s.d.kind === 'reminder' && s.engaged ? end(s.d, 'cancelled', 'engaged') : pass);

/** A reminder after the policy's actionBy is too late to help. */
const reminderNotTooLate: Gate = (s) =>
  s.d.kind === 'reminder' && s.actionBy && s.actionBy.getTime() <= s.deps.now() ? end(s.d, 'cancelled', 'too_late') : pass;

const attemptsLeft: Gate = (s) =>
  s.d.attempts > s.deps.settings.maxAttempts[s.d.channel] ? end(s.d, 'failed', 'attempts_exhausted') : pass;

/** A test send without a sandbox to go through fails rather than reach a provider. */
const adapterAvailable: Gate = (s) => (s.adapter ? pass : end(s.d, 'failed', 'no_sandbox'));

/** Nobody gets a text or a WeChat message at night; email is read when the reader chooses. Urgent ones go through. */
const outsideQuietHours: Gate = (s) => {
  if (s.urgent || s.d.channel === 'email') return pass;
  const opens = quietUntil(new Date(s.deps.now()), s.contact.quietHours ?? s.deps.settings.quietHours);
  return opens ? wait(s, opens.getTime(), 'quiet_hours', null, false) : pass;
};

/**
 * The per-recipient cap: one accountant's phone must not get twenty pushes a day. What is over it
 * waits for the contact's next daily digest instead of being dropped. A send under it takes its place.
 */
const underRecipientCap: Gate = (s) => {
  const cap = s.batch.cap;
  if (!s.capKey || !cap) return pass;
  const used = cap.counts.get(s.capKey) ?? 0;
  if (used >= s.deps.settings.recipientDailyCap) {
    // A reminder is never folded into a digest: it waits for the next Beijing day, or is dropped
    // as too late when that is past the policy's actionBy.
    if (s.d.kind === 'reminder') return wait(s, shanghaiDayEnd(new Date(s.deps.now())).getTime(), 'recipient_cap', null, false);
    return { outcome: { ...end(s.d, 'held', 'recipient_cap').outcome, uncounted: true, holdFor: 'daily' } };
  }
  cap.counts.set(s.capKey, used + 1);
  return pass;
};

const DELIVERY_GATES: Gate[] = [
  reminderNotEngaged,
  reminderNotTooLate,
  attemptsLeft,
  adapterAvailable,
  outsideQuietHours,
  underRecipientCap,
];

// ---------------------------------------------------------------------------------------------
// The provider's gates, once the message is rendered (an SMS spends one unit per segment). A send
// waits for its channel's allowance only until the batch's deadline, then goes back to the queue:
// the batch is acked when its slowest send ends, and the other channels' messages in it (an urgent
// WeChat notice among throttled SMS) must not wait with it.

/** The circuit first: a send it refuses must not spend the provider's allowance. */
const circuitClosed: Gate = (s) => {
  const breaker = s.deps.breakers[s.d.channel];
  return breaker.allow() ? pass : wait(s, s.deps.now() + breaker.waitMs(), 'circuit_open', null);
};

/** The provider's allowance for the message (an SMS spends one unit per segment), waited for until the batch's deadline. */
async function allowanceTaken(s: Send, message: OutboundMessage): Promise<SendDecision | null> {
  const units = message.channel === 'sms' ? message.content.segments : 1;
  const permit = await s.deps.limiter.acquire(s.d.channel, units, s.batch.allowanceWaitUntil);
  if (permit.ok) return pass;
  // Not sent: the circuit's permission is given back (a half-open probe is free for the next send).
  s.deps.breakers[s.d.channel].release();
  if (permit.quota) {
    return { ...wait(s, permit.until.getTime(), 'quota_spent', null), pause: { until: permit.until, reason: 'quota_spent' } };
  }
  return wait(s, permit.until.getTime(), 'allowance_spent', null);
}

// ---------------------------------------------------------------------------------------------
// The message, by what the delivery is about.

function render(s: Send): OutboundMessage {
  const { d, subject, deps } = s;
  switch (subject.kind) {
    case 'confirmation':
      return confirmationMessage(d, s.to, s.contact.locale, deps);
    case 'digest':
      return notice(s, 'policy', digestNotice(d, subject.items, deps), subject.items[0].department);
    case 'policy':
      // A policy's deliveries are its notice, an update, a revocation or a reminder.
      return notice(
        s,
        d.kind === 'digest' || d.kind === 'confirmation' ? 'policy' : d.kind,
        policyNotice(d, subject.policy),
        subject.policy.department,
      );
  }
}

/** What a notice says; the urgent flag is the send's. */
type Notice = Omit<DeliveryContext['policy'], 'urgent'>;

function notice(s: Send, kind: DeliveryContext['kind'], content: Notice, department: DeliveryContext['department']): OutboundMessage {
  const { d, deps } = s;
  return renderOutbound({
    deliveryId: String(d.id),
    channel: d.channel,
    to: s.to,
    locale: s.contact.locale,
    kind,
    policy: { ...content, urgent: s.urgent },
    department,
    // Every message links through the signed open redirect (/r/…), which counts the open
    // for awareness and then leads to the policy (a digest's leads to the contact's inbox).
    links: messageLinks(deps.publicBaseUrl, deps.signingSecret, { deliveryId: d.id, contactId: d.contactId }, new Date(deps.now())),
    smsSegmentBudget: deps.smsSegmentBudget,
  });
}

/** A policy's notice; an update's leads with what changed since the version the reader had, a reminder's with what to do by when. */
function policyNotice(d: ClaimedDelivery, policy: PolicyForMessage): Notice {
  const summaries =
    d.kind === 'reminder'
      ? reminderSummaries(policy, policy.actionBy ?? null)
      : noticeSummaries(d.kind === 'update' || d.kind === 'revocation' ? d.kind : 'policy', policy.previous, policy);
  return {
    title: policy.title,
    ...summaries,
    titleEn: policy.titleEn,
    url: policy.url,
    docNumber: policy.docNumber,
    publishedAt: policy.publishAt,
  };
}

/**
 * A digest reads like one message about several policies: how many and the first title, the titles
 * listed as its summary, and a link to the contact's inbox on the preferences page, where each one
 * can be opened.
 */
function digestNotice(d: ClaimedDelivery, items: DigestItem[], deps: SendDeps): Notice {
  const now = new Date(deps.now());
  const english = items.every((i) => i.titleEn);
  return {
    title: `${items.length}项新政策：${items[0].title}`,
    summary: items.map((i) => i.title).join('；'),
    titleEn: english ? `${items.length} new policies: ${items[0].titleEn}` : null,
    summaryEn: english ? items.map((i) => i.titleEn).join('; ') : null,
    url: preferencesLink(deps.publicBaseUrl, deps.signingSecret, d.contactId, now),
    docNumber: now.toISOString().slice(0, 10).replaceAll('-', ''),
    publishedAt: now,
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

// ---------------------------------------------------------------------------------------------
// The send and its answer.

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

/** A test send's answer: a simulated 429 must not pause the real channel for everyone. */
function testResult(result: Answered): Answered {
  if (result.outcome === 'retryable') result.pauseChannel = false;
  return result;
}

/** The provider's answer, as the delivery's next state. */
function classify(s: Send, result: Answered, adapter: ChannelAdapter): SendDecision {
  const { d, deps } = s;
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
        return { ...wait(s, until.getTime(), result.code, attemptRecord), pause: { until, reason: result.code } };
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
function wait(s: Send, until: number, code: string, attemptRecord: SendOutcome['attemptRecord'], fallsBack = true): SendDecision {
  const { d, deps } = s;
  const base = { id: d.id, attempt: d.attempts, providerMessageId: null, attemptRecord };
  // A reminder's deadline is the policy's actionBy: one that would go after it is dropped, counted
  // as too late. Until then it waits (it never falls back: it was sent on the contact's next channel already).
  if (d.kind === 'reminder') {
    if (s.actionBy && until >= s.actionBy.getTime())
      return { outcome: { ...base, status: 'cancelled', errorCode: 'too_late', retryInMs: 0 } };
    return { outcome: { ...base, status: 'pending', errorCode: code, retryInMs: Math.max(0, until - deps.now()), uncounted: true } };
  }
  const minutes = deps.settings.deliverByMinutes[s.urgent ? 'urgent' : 'normal'];
  const deliverBy = s.dueSince.getTime() + minutes * 60_000;
  if (fallsBack && until > deliverBy) return { outcome: { ...base, status: 'failed', errorCode: code, retryInMs: 0 } };
  return { outcome: { ...base, status: 'pending', errorCode: code, retryInMs: Math.max(0, until - deps.now()), uncounted: true } };
}
