import { hostname } from 'node:os';
import { type Channel, type ChannelAdapter, CHANNELS } from '@policy-push/channels';
import { type Config, type Logger, SHANGHAI_OFFSET_MS } from '@policy-push/core';
import { addressOn, safeError } from '@policy-push/core';
import {
  ackDeliveries,
  addressKey,
  beijingDay,
  countSends,
  type SendContext,
  sendsToday,
  type ClaimedDelivery,
  claimDeliveries,
  claimJobRun,
  extendLeases,
  type Db,
  fanOutNextChunk,
  isDatabaseUnavailable,
  loadSendContext,
  optOutContact,
  pauseChannel,
  releaseDeliveries,
  type SendOutcome,
  takeUnits,
  WORK_CHANNEL,
} from '@policy-push/db';
import { type DispatcherMetrics, noDispatcherMetrics } from '@policy-push/metrics';
import cron, { type ScheduledTask } from 'node-cron';
import { CircuitBreaker } from './circuit-breaker';
import { mapLimit } from './map-limit';
import { type Allowance, RateLimiter } from './rate-limiter';
import { observeBatch } from './metrics';
import { jobs } from './registry';
import { ALLOWANCE_WAIT_MS, type BatchState, type CapState, type SendDecision, sendOne } from './send-one';
import { WakeSignal } from './wake-signal';

export interface DispatcherDeps {
  config: Config;
  db: Db;
  logger: Logger;
  adapters: Record<Channel, ChannelAdapter>;
  /** The sandbox adapters that test keys' policies go through (Adapters.sandbox). */
  testAdapters?: Record<Channel, ChannelAdapter>;
  /** Key for the signed links in messages (unsubscribe). */
  signingSecret: string;
  /** Cron jobs off in tests that drive them by hand. */
  withJobs?: boolean;
  random?: () => number;
  /** The clock for send decisions (quiet hours, pauses); tests set the hour. */
  now?: () => number;
  /** Where send latency, outcomes and breaker states go (the API's registry in embedded mode). */
  metrics?: DispatcherMetrics;
}

export interface Dispatcher {
  worker: string;
  /** Wakes the loops now (a publish in this process). */
  wake(): void;
  /** Stops claiming, finishes what it holds, and resolves when the loops have ended. */
  stop(): Promise<void>;
}

/**
 * The dispatcher: a fan-out loop and a send loop that work while there is work, sleep until a
 * NOTIFY (or a short poll) when there is none, and the periodic jobs.
 */
export async function startDispatcher(deps: DispatcherDeps): Promise<Dispatcher> {
  const { config, db, logger } = deps;
  const settings = config.dispatcher;
  const worker = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const log = logger.child({ component: 'dispatcher', worker });
  const signal = new WakeSignal();
  let stopping = false;

  const unlisten = await db.listen(WORK_CHANNEL, () => signal.wake());
  const clock = { now: deps.now ?? (() => Date.now()), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const limiter = new RateLimiter({ take: (...args) => takeUnits(db.db, ...args) }, allowances(config), clock);
  const breaker = () =>
    new CircuitBreaker({ failureThreshold: settings.breaker.failures, cooldownMs: settings.breaker.cooldownMs, now: clock.now });
  const sendDeps = {
    adapters: deps.adapters,
    testAdapters: deps.testAdapters,
    breakers: { wechat: breaker(), sms: breaker(), email: breaker() },
    limiter,
    settings,
    publicBaseUrl: config.publicBaseUrl,
    smsSegmentBudget: config.smsSegmentBudget,
    signingSecret: deps.signingSecret,
    now: clock.now,
    random: deps.random,
  };

  async function fanOutStep(): Promise<boolean> {
    const chunk = await fanOutNextChunk(db.db, settings.fanoutChunkSize, { requireConfirmedEmail: settings.requireConfirmedEmail });
    if (chunk && chunk.inserted > 0) signal.wake();
    if (chunk?.done) log.info({ pushId: chunk.pushId }, 'push fanned out');
    return chunk !== null;
  }

  async function sendStep(): Promise<boolean> {
    // Only the channels that may send now: an open circuit or a spent allowance leaves its
    // deliveries unclaimed instead of claiming them to put them back (issue 13).
    const channels = CHANNELS.filter((c) => sendDeps.breakers[c].mayClaim() && limiter.maySpend(c));
    const batch = await claimDeliveries(db.db, { limit: settings.claimBatchSize, leaseSeconds: settings.leaseSeconds, channels });
    if (!batch.length) return false;
    // A batch may take longer than its lease (a slow provider, a rate limit): renew it while it is
    // in flight, or the sweep would hand it to another dispatcher and it would be sent twice.
    const renew = setInterval(
      () =>
        void extendLeases(
          db.db,
          batch.map((d) => d.id),
          settings.leaseSeconds,
        ).catch((err) => log.warn({ err: safeError(err) }, 'lease not renewed')),
      (settings.leaseSeconds * 1000) / 3,
    );
    const leaseEnds = Date.now() + settings.leaseSeconds * 1000;
    let sending = false;
    try {
      const ctx = await loadSendContext(db.db, batch);
      const cap = await capState(batch, ctx);
      sending = true;
      const sendBatch: BatchState = { cap, allowanceWaitUntil: clock.now() + ALLOWANCE_WAIT_MS };
      const decisions = await mapLimit(batch, settings.sendConcurrency, (d) => sendOrDefer(d, ctx, sendBatch));
      observeBatch(deps.metrics ?? noDispatcherMetrics, batch, decisions, deps.adapters, sendDeps.breakers);
      const outcomes = decisions.map((x) => x.outcome);
      await ackWithRetry(outcomes, leaseEnds);
      await applyEffects(batch, decisions);
      if (cap)
        await countSends(
          db.db,
          decisions.flatMap((x) => (x.addressKey ? [x.addressKey] : [])),
          cap.day,
        );
      log.info({ claimed: batch.length, sent: outcomes.filter((o) => o.status === 'sent').length }, 'batch sent');
    } catch (err) {
      // Nothing was sent: give the batch back rather than wait for the lease to expire. Once sends
      // have gone out, releasing would only send them again sooner; the lease decides instead.
      if (!sending)
        await releaseDeliveries(
          db.db,
          batch.map((d) => d.id),
        ).catch(() => {});
      throw err;
    } finally {
      clearInterval(renew);
    }
    return true;
  }

  /**
   * One send; when the database goes away before it is made (the rate limiter counts in Postgres),
   * it is deferred, uncounted, instead of failing the batch: the sends already made stay ackable.
   */
  async function sendOrDefer(d: ClaimedDelivery, ctx: SendContext, batch: BatchState): Promise<SendDecision> {
    try {
      return await sendOne(d, ctx, sendDeps, batch);
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
        await ackDeliveries(db.db, outcomes, worker, { requireConfirmedEmail: settings.requireConfirmedEmail });
        if (tries > 1) log.warn({ tries, deliveries: outcomes.length }, 'batch acked after the database came back');
        return;
      } catch (err) {
        const wait = backoffMs(tries, settings.pollIntervalMs);
        if (!isDatabaseUnavailable(err) || Date.now() + wait > leaseEnds - 1000) throw err;
        log.warn({ err: safeError(err), tries, deliveries: outcomes.length }, 'ack failed: database unavailable; retrying');
        await clock.sleep(wait);
      }
    }
  }

  /** Today's counts for the batch's addresses, when the per-recipient cap is on. */
  async function capState(batch: ClaimedDelivery[], ctx: SendContext): Promise<CapState | undefined> {
    if (!settings.recipientDailyCap) return undefined;
    const day = beijingDay(new Date(clock.now()));
    const keys = batch.flatMap((d) => {
      const c = ctx.contacts.get(d.contactId);
      const to = c && addressOn(c, d.channel);
      return to ? [addressKey(d.channel, to)] : [];
    });
    return { day, counts: await sendsToday(db.db, keys, day) };
  }

  /** What the sends taught us: channels to pause, contacts who refused a channel, config errors for ops. */
  async function applyEffects(batch: ClaimedDelivery[], decisions: SendDecision[]) {
    for (const [i, x] of decisions.entries()) {
      const d = batch[i];
      if (x.pause) {
        await pauseChannel(db.db, d.channel, x.pause.until, x.pause.reason);
        log.warn({ channel: d.channel, until: x.pause.until, reason: x.pause.reason }, 'channel paused');
      }
      if (x.optOut) await optOutContact(db.db, d.contactId, d.channel);
      if (x.configError)
        log.error({ channel: d.channel, deliveryId: d.id, error: x.configError }, 'provider refused our configuration or template');
    }
  }

  async function loop(name: string, step: () => Promise<boolean>): Promise<void> {
    // Consecutive failures: while the database is down or restarting, wait longer each time
    // (up to MAX_BACKOFF_MS) instead of hammering it and the log every poll.
    let failures = 0;
    while (!stopping) {
      let worked = false;
      try {
        worked = await step();
        if (failures) log.warn({ loop: name, failures }, 'loop recovered');
        failures = 0;
      } catch (err) {
        failures++;
        if (isDatabaseUnavailable(err)) log.warn({ err: safeError(err), loop: name, failures }, 'database unavailable; backing off');
        else log.error({ err: safeError(err), loop: name, failures }, 'loop step failed');
      }
      if (failures && !stopping) await signal.wait(backoffMs(failures, settings.pollIntervalMs));
      else if (!worked && !stopping) await signal.wait(settings.pollIntervalMs);
    }
  }

  const tasks: ScheduledTask[] = [];
  const providers = Object.fromEntries(Object.entries(deps.adapters).map(([c, a]) => [c, a.provider])) as Record<Channel, string>;
  const openCircuits = () => CHANNELS.filter((c) => !sendDeps.breakers[c].mayClaim());
  const jobDeps = { db: db.db, logger: log, settings, providers, openCircuits };
  if (deps.withJobs !== false) {
    for (const job of jobs) {
      tasks.push(
        cron.schedule(
          job.cron(settings),
          async ({ date }) => {
            if (stopping) return;
            try {
              if (await claimJobRun(db.db, job.name, date.toISOString())) await job.run(jobDeps, date);
            } catch (err) {
              // A firing missed while the database is down is caught up by the next one (jobs work from stored state).
              if (isDatabaseUnavailable(err)) log.warn({ err: safeError(err), job: job.name }, 'job skipped: database unavailable');
              else log.error({ err: safeError(err), job: job.name }, 'job failed');
            }
          },
          { name: job.name, noOverlap: true, timezone: job.timezone },
        ),
      );
    }
  }

  const loops = [loop('fan-out', fanOutStep), loop('send', sendStep)];
  log.info('dispatcher started');

  return {
    worker,
    wake: () => signal.wake(),
    async stop() {
      stopping = true;
      for (const t of tasks) t.destroy();
      signal.wake();
      await Promise.all(loops);
      await unlisten();
      log.info('dispatcher stopped');
    },
  };
}

const MAX_BACKOFF_MS = 5_000;

/** Exponential backoff after `failures` failures in a row, from the poll interval up to MAX_BACKOFF_MS. */
export function backoffMs(failures: number, baseMs: number): number {
  return Math.min(MAX_BACKOFF_MS, Math.max(baseMs, 100) * 2 ** Math.min(failures - 1, 10));
}

/** Provider allowances, from the providers configured (the sandbox has none). */
function allowances(config: Config): Record<string, Allowance[]> {
  const { wechat, twilio, smtp } = config.providers;
  const out: Record<string, Allowance[]> = {};
  if (twilio) out.sms = [{ bucket: 'sms:twilio', limit: twilio.segmentsPerSecond, windowMs: 1000, whenSpent: 'wait' }];
  if (smtp) out.email = [{ bucket: 'email:smtp', limit: smtp.perSecond, windowMs: 1000, whenSpent: 'wait' }];
  if (wechat) {
    out.wechat = [
      { bucket: 'wechat:second', limit: wechat.perSecond, windowMs: 1000, whenSpent: 'wait' },
      // The daily template-message quota resets at midnight in Beijing.
      { bucket: 'wechat:day', limit: wechat.dailyQuota, windowMs: 86_400_000, offsetMs: SHANGHAI_OFFSET_MS, whenSpent: 'pause' },
    ];
  }
  return out;
}
