import { CHANNELS } from '@policy-push/channels';
import { addressOn, type DispatcherSettings, type Logger, safeError } from '@policy-push/core';
import {
  ackDeliveries,
  addressKey,
  beijingDay,
  type ClaimedDelivery,
  claimDeliveries,
  countSends,
  type Database,
  extendLeases,
  isDatabaseUnavailable,
  loadSendContext,
  optOutContact,
  pauseChannel,
  releaseDeliveries,
  type SendContext,
  type SendOutcome,
  sendsToday,
} from '@policy-push/db';
import { backoffMs, type LoopStep } from './loop-runner';
import { mapLimit } from './map-limit';
import type { DispatcherMetrics } from '@policy-push/metrics';
import { observeBatch } from './metrics';
import { ALLOWANCE_WAIT_MS, type BatchState, type CapState, type SendDecision, type SendDeps, sendOne } from './send-one';

export interface SendLoopDeps {
  db: Database;
  settings: DispatcherSettings;
  log: Logger;
  /** This dispatcher's name in the deliveries it acks. */
  worker: string;
  send: SendDeps;
  metrics: DispatcherMetrics;
  sleep: (ms: number) => Promise<void>;
}

/**
 * The send loop's step: claims a batch of due deliveries on the channels that may send now, sends
 * them, acks their outcomes, and applies what the sends taught us (pauses, opt-outs, the cap).
 */
export function sendStep(deps: SendLoopDeps): LoopStep {
  const { db, settings, log, send } = deps;

  return async () => {
    // Only the channels that may send now: an open circuit or a spent allowance leaves its
    // deliveries unclaimed instead of claiming them to put them back (issue 13).
    const channels = CHANNELS.filter((c) => send.breakers[c].mayClaim() && send.limiter.maySpend(c));
    const batch = await claimDeliveries(db, { limit: settings.claimBatchSize, leaseSeconds: settings.leaseSeconds, channels });
    if (!batch.length) return false;
    // A batch may take longer than its lease (a slow provider, a rate limit): renew it while it is
    // in flight, or the sweep would hand it to another dispatcher and it would be sent twice.
    const renew = setInterval(
      () =>
        void extendLeases(
          db,
          batch.map((d) => d.id),
          settings.leaseSeconds,
        ).catch((err) => log.warn({ err: safeError(err) }, 'lease not renewed')),
      (settings.leaseSeconds * 1000) / 3,
    );
    const leaseEnds = Date.now() + settings.leaseSeconds * 1000;
    let sending = false;
    try {
      const ctx = await loadSendContext(db, batch);
      const cap = await capState(batch, ctx);
      sending = true;
      const sendBatch: BatchState = { cap, allowanceWaitUntil: send.now() + ALLOWANCE_WAIT_MS };
      const decisions = await mapLimit(batch, settings.sendConcurrency, (d) => sendOrDefer(d, ctx, sendBatch));
      observeBatch(deps.metrics, batch, decisions, send.adapters, send.breakers);
      const outcomes = decisions.map((x) => x.outcome);
      await ackWithRetry(outcomes, leaseEnds);
      await applyEffects(batch, decisions);
      if (cap)
        await countSends(
          db,
          decisions.flatMap((x) => (x.addressKey ? [x.addressKey] : [])),
          cap.day,
        );
      log.info({ claimed: batch.length, sent: outcomes.filter((o) => o.status === 'sent').length }, 'batch sent');
    } catch (err) {
      // Nothing was sent: give the batch back rather than wait for the lease to expire. Once sends
      // have gone out, releasing would only send them again sooner; the lease decides instead.
      if (!sending)
        await releaseDeliveries(
          db,
          batch.map((d) => d.id),
        ).catch(() => {});
      throw err;
    } finally {
      clearInterval(renew);
    }
    return true;
  };

  /**
   * One send; when the database goes away before it is made (the rate limiter counts in Postgres),
   * it is deferred, uncounted, instead of failing the batch: the sends already made stay ackable.
   */
  async function sendOrDefer(d: ClaimedDelivery, ctx: SendContext, batch: BatchState): Promise<SendDecision> {
    try {
      return await sendOne(d, ctx, send, batch);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      return {
        outcome: {
          id: d.id,
          attempt: d.attempts,
          status: 'pending',
          providerMessageId: null,
          errorCode: 'DATABASE_UNAVAILABLE',
          retryInMs: settings.pollIntervalMs,
          uncounted: true,
          attemptRecord: null,
        },
      };
    }
  }

  /**
   * The sends of a batch have gone out: their ack must not be lost to a database restart, or the
   * lease sweep would send them all again. Retried with backoff while the database is unavailable
   * and the lease still holds (renewed meanwhile); after that the batch is the sweep's.
   */
  async function ackWithRetry(outcomes: SendOutcome[], leaseEnds: number): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await ackDeliveries(db, outcomes, deps.worker, { requireConfirmedEmail: settings.requireConfirmedEmail });
        if (tries > 1) log.warn({ tries, deliveries: outcomes.length }, 'batch acked after the database came back');
        return;
      } catch (err) {
        const wait = backoffMs(tries, settings.pollIntervalMs);
        if (!isDatabaseUnavailable(err) || Date.now() + wait > leaseEnds - 1000) throw err;
        log.warn({ err: safeError(err), tries, deliveries: outcomes.length }, 'ack failed: database unavailable; retrying');
        await deps.sleep(wait);
      }
    }
  }

  /** Today's counts for the batch's addresses, when the per-recipient cap is on. */
  async function capState(batch: ClaimedDelivery[], ctx: SendContext): Promise<CapState | undefined> {
    if (!settings.recipientDailyCap) return undefined;
    const day = beijingDay(new Date(send.now()));
    const keys = batch.flatMap((d) => {
      const c = ctx.contacts.get(d.contactId);
      const to = c && addressOn(c, d.channel);
      return to ? [addressKey(d.channel, to)] : [];
    });
    return { day, counts: await sendsToday(db, keys, day) };
  }

  /** What the sends taught us: channels to pause, contacts who refused a channel, config errors for ops. */
  async function applyEffects(batch: ClaimedDelivery[], decisions: SendDecision[]) {
    for (const [i, x] of decisions.entries()) {
      const d = batch[i];
      if (x.pause) {
        await pauseChannel(db, d.channel, x.pause.until, x.pause.reason);
        log.warn({ channel: d.channel, until: x.pause.until, reason: x.pause.reason }, 'channel paused');
      }
      if (x.optOut) await optOutContact(db, d.contactId, d.channel);
      if (x.configError)
        log.error({ channel: d.channel, deliveryId: d.id, error: x.configError }, 'provider refused our configuration or template');
    }
  }
}
