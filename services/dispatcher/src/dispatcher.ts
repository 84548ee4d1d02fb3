import { hostname } from 'node:os';
import { type Channel, type ChannelAdapter, CHANNELS } from '@policy-push/channels';
import { type Config, DAY_MS, type Logger, SHANGHAI_OFFSET_MS } from '@policy-push/core';
import { type Db, takeUnits, WORK_CHANNEL } from '@policy-push/db';
import { CircuitBreaker } from './circuit-breaker';
import { fanOutStep } from './fan-out-loop';
import { scheduleJobs } from './job-scheduler';
import { LoopRunner } from './loop-runner';
import { type DispatcherMetrics, noDispatcherMetrics } from '@policy-push/metrics';
import { type Allowance, RateLimiter } from './rate-limiter';
import { jobs } from './registry';
import type { SendDeps } from './send-one';
import { sendStep } from './send-loop';

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
 * The dispatcher: a fan-out loop and a send loop (fan-out-loop.ts, send-loop.ts) that work while
 * there is work and sleep until a NOTIFY (or a short poll) when there is none (loop-runner.ts), and
 * the periodic jobs (job-scheduler.ts). This function only wires them together.
 */
export async function startDispatcher(deps: DispatcherDeps): Promise<Dispatcher> {
  const { config, db, logger } = deps;
  const settings = config.dispatcher;
  const worker = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const log = logger.child({ component: 'dispatcher', worker });
  const loops = new LoopRunner({ pollIntervalMs: settings.pollIntervalMs, log });

  const unlisten = await db.listen(WORK_CHANNEL, () => loops.wake());
  const now = deps.now ?? (() => Date.now());
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const limiter = new RateLimiter({ take: (...args) => takeUnits(db.db, ...args) }, allowances(config), { now, sleep });
  const breaker = () => new CircuitBreaker({ failureThreshold: settings.breaker.failures, cooldownMs: settings.breaker.cooldownMs, now });
  const send: SendDeps = {
    adapters: deps.adapters,
    testAdapters: deps.testAdapters,
    breakers: { wechat: breaker(), sms: breaker(), email: breaker() },
    limiter,
    settings,
    publicBaseUrl: config.publicBaseUrl,
    smsSegmentBudget: config.smsSegmentBudget,
    signingSecret: deps.signingSecret,
    now,
    random: deps.random,
  };

  let stopJobs = async () => {};
  if (deps.withJobs !== false) {
    const providers = Object.fromEntries(Object.entries(deps.adapters).map(([c, a]) => [c, a.provider])) as Record<Channel, string>;
    const openCircuits = () => CHANNELS.filter((c) => !send.breakers[c].mayClaim());
    stopJobs = scheduleJobs(jobs, { db: db.db, logger: log, settings, providers, openCircuits });
  }

  loops.run('fan-out', fanOutStep({ db: db.db, settings, log, wakeSenders: () => loops.wake() }));
  loops.run('send', sendStep({ db: db.db, settings, log, worker, send, metrics: deps.metrics ?? noDispatcherMetrics, sleep }));
  log.info('dispatcher started');

  return {
    worker,
    wake: () => loops.wake(),
    async stop() {
      await stopJobs();
      await loops.stop();
      await unlisten();
      log.info('dispatcher stopped');
    },
  };
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
      { bucket: 'wechat:day', limit: wechat.dailyQuota, windowMs: DAY_MS, offsetMs: SHANGHAI_OFFSET_MS, whenSpent: 'pause' },
    ];
  }
  return out;
}
