import { nextDigestAt } from '@policy-push/core';
import { type SQL, sql } from 'drizzle-orm';

// The delivery statuses, in one list, and the named sets every query, schema and page uses
// (ARCHITECTURE.md "Delivery states"). A status written out by hand elsewhere is a second copy.
export const DELIVERY_STATUSES = [
  'pending',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'cancelled',
  'suppressed',
  'held',
  'digested',
  'merged',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Still to go out: waiting (pending, held for a digest) or being sent. */
export const LIVE_STATUSES = ['pending', 'sending', 'held'] as const satisfies readonly DeliveryStatus[];
/**
 * Never moves again. A merged delivery (carried by another to the same address) and a digested one
 * (folded into a digest) end here themselves: their fate is their carrier's.
 */
export const TERMINAL_STATUSES = [
  'delivered',
  'undelivered',
  'failed',
  'cancelled',
  'suppressed',
  'digested',
  'merged',
] as const satisfies readonly DeliveryStatus[];
/** Not yet taken by a dispatcher: what withdrawing a policy (or erasing a contact) cancels. */
export const WAITING_STATUSES = ['pending', 'held'] as const satisfies readonly DeliveryStatus[];
/** Its message went out: a provider accepted it (sent) or confirmed it (delivered). */
export const REACHED_STATUSES = ['sent', 'delivered'] as const satisfies readonly DeliveryStatus[];
/** Its message did not get there: refused or given up (failed), or reported undelivered. */
export const FAILED_STATUSES = ['failed', 'undelivered'] as const satisfies readonly DeliveryStatus[];
/** Not sent and never will be: withdrawn, or the contact cannot be reached on the channel. */
export const DROPPED_STATUSES = ['cancelled', 'suppressed'] as const satisfies readonly DeliveryStatus[];

/** `in ('a', 'b')` for a named set, in SQL (the sets are constants above, never input). */
export const inStatuses = (set: readonly DeliveryStatus[]): SQL => sql.raw(`in (${set.map((s) => `'${s}'`).join(', ')})`);

/** Why a delivery still waits (held or pending for later), for the delivery log and the console. */
export const WAIT_REASONS = [
  'digest_daily',
  'digest_weekly',
  'recipient_cap',
  'quiet_hours',
  'paused',
  'allowance',
  'circuit_open',
  'retry',
] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/**
 * Why a delivery waits and when it is due, from its stored state: held for a digest (the next
 * daily or weekly digest; the per-recipient cap holds for the next daily one), or pending for later
 * (quiet hours, a paused channel, its provider's allowance or open circuit, a retry's backoff).
 * Null when it does not wait: due now, in flight, or finished.
 */
export function deliveryWait(
  d: { status: string; errorCode: string | null; digestPeriod: string | null; nextAttemptAt: Date; channel: string },
  now: Date,
  pausedUntil: ReadonlyMap<string, Date>,
): { reason: WaitReason; dueAt: Date } | null {
  if (d.status === 'held') {
    if (d.errorCode === 'recipient_cap') return { reason: 'recipient_cap', dueAt: nextDigestAt('daily', now) };
    const weekly = d.digestPeriod === 'weekly';
    return { reason: weekly ? 'digest_weekly' : 'digest_daily', dueAt: nextDigestAt(weekly ? 'weekly' : 'daily', now) };
  }
  if (d.status !== 'pending') return null;
  const paused = pausedUntil.get(d.channel);
  if (paused && paused > now) {
    return { reason: 'paused', dueAt: paused > d.nextAttemptAt ? paused : d.nextAttemptAt };
  }
  if (d.nextAttemptAt <= now) return null;
  const reason: WaitReason =
    d.errorCode === 'quiet_hours'
      ? 'quiet_hours'
      : d.errorCode === 'circuit_open'
        ? 'circuit_open'
        : d.errorCode === 'allowance_spent' || d.errorCode === 'quota_spent'
          ? 'allowance'
          : 'retry';
  return { reason, dueAt: d.nextAttemptAt };
}
