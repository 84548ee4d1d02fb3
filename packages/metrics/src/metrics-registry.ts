// The process's Prometheus registry (prom-client) and every series /metrics shows (issue 5,
// "Health and metrics"). One registry per process: the API serves it at /metrics, and in embedded
// mode the dispatcher in the same process is handed it as its DispatcherMetrics, so its send
// latencies and errors land there too. A standalone dispatcher serves its own on
// DISPATCHER_METRICS_PORT (services/dispatcher/src/metrics-server.ts): the series it counts, not
// the database-backed ones the API already shows.
//
// Two kinds of series:
// - counted as things happen: HTTP requests, provider calls (latency, outcome, error code),
//   circuit breaker states;
// - read from the database at scrape time (refreshFromDatabase): queues, deliveries by status,
//   live pushes, stalled pushes, provider failure rates. Each read is cheap (see ops-queries.ts).
import { CHANNELS, type Channel } from '@policy-push/channels';
import type { DispatcherSettings } from '@policy-push/core';
import {
  activeDeliveryCounts,
  estimatedDeliveryRows,
  livePushes,
  type Queryable,
  queueDepths,
  recentDeliveryCounts,
  LIVE_STATUSES,
} from '@policy-push/db';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BREAKER_STATES, type DispatcherMetrics, type SendObservation } from './dispatcher-metrics';
import { checkHealth, type HealthReport } from './health-report';

/** The newest deliveries the all-statuses gauge counts over. */
export const RECENT_DELIVERIES_WINDOW = 50_000;
/** Live pushes exposed one series each; more than this are summed into the count only. */
export const LIVE_PUSH_SERIES = 50;

export interface Metrics extends DispatcherMetrics {
  registry: Registry;
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  /** Sets the database-backed gauges; answers the health report it computed, for the console. */
  refreshFromDatabase(
    db: Queryable,
    p: { settings: DispatcherSettings; providers: Record<Channel, string>; now: Date },
  ): Promise<HealthReport>;
  /** Breaker state per channel as last reported by a dispatcher in this process (none when it runs elsewhere). */
  breakerStates(): Map<Channel, { provider: string; state: string }>;
  /** Provider calls seen by this process: count and total seconds per provider, channel and outcome. */
  sendTotals(): Promise<{ provider: string; channel: string; outcome: string; count: number }[]>;
  render(): Promise<string>;
}

/**
 * `databaseSeries: false` leaves out the series read from the database at scrape time: a standalone
 * dispatcher never refreshes them, and zeros from it would contradict the API's real values.
 */
export function createMetrics(opts: { processMetrics?: boolean; databaseSeries?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'policy_push_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'policy_push_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  const sends = new Counter({
    name: 'policy_push_sends_total',
    help: 'Provider calls made by the dispatcher in this process, by provider, channel and outcome (accepted, retryable, permanent)',
    labelNames: ['provider', 'channel', 'outcome'] as const,
    registers,
  });
  const sendDuration = new Histogram({
    name: 'policy_push_send_duration_seconds',
    help: 'Latency of one provider call, by provider and channel',
    labelNames: ['provider', 'channel'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const providerErrors = new Counter({
    name: 'policy_push_provider_errors_total',
    help: 'Provider calls that were not accepted, by provider, channel and provider error code',
    labelNames: ['provider', 'channel', 'code'] as const,
    registers,
  });
  const breaker = new Gauge({
    name: 'policy_push_circuit_breaker_state',
    help: "1 for the channel's current circuit breaker state in this process (closed, half-open, open), 0 for the others",
    labelNames: ['provider', 'channel', 'state'] as const,
    registers,
  });
  const breakers = new Map<Channel, { provider: string; state: string }>();

  // Read from the database at scrape time (refreshFromDatabase); left out with `databaseSeries: false`.
  const databaseGauge = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: opts.databaseSeries === false ? [] : registers });
  const deliveries = databaseGauge(
    'policy_push_deliveries',
    'Deliveries waiting or in flight, by channel and status (pending, sending, held); exact, from partial indexes',
    ['channel', 'status'],
  );
  const recentDeliveries = databaseGauge(
    'policy_push_recent_deliveries',
    `Deliveries by channel and status among the newest ${RECENT_DELIVERIES_WINDOW} (a bounded read, not the whole table)`,
    ['channel', 'status'],
  );
  const estimatedRows = databaseGauge(
    'policy_push_deliveries_estimated_rows',
    "All deliveries ever made, as the planner estimates them (pg_class.reltuples; 0 until the table's first analyze)",
  );
  const queueDepth = databaseGauge('policy_push_queue_depth', 'Pending deliveries per channel, including those waiting for a later time', [
    'channel',
  ]);
  const queueReady = databaseGauge('policy_push_queue_ready', 'Pending deliveries per channel that are due now', ['channel']);
  const queueOldest = databaseGauge(
    'policy_push_queue_oldest_age_seconds',
    'How long the longest-waiting due delivery per channel has been due (0 when none is)',
    ['channel'],
  );
  const pushesLive = databaseGauge(
    'policy_push_live_pushes',
    'Pushes still at work (fanning out, or with deliveries pending or sending), by push status',
    ['status'],
  );
  const pushPending = databaseGauge(
    'policy_push_push_pending_deliveries',
    `Deliveries pending or sending per live push (the newest ${LIVE_PUSH_SERIES})`,
    ['push_id', 'policy_id', 'status'],
  );
  const pushMatched = databaseGauge(
    'policy_push_push_matched',
    `Deliveries a live push has fanned out so far (the newest ${LIVE_PUSH_SERIES})`,
    ['push_id', 'policy_id'],
  );
  const stalled = databaseGauge('policy_push_stalled_pushes', 'Pushes with work waiting and nothing moving for STALLED_PUSH_MINUTES');
  const unhealthy = databaseGauge(
    'policy_push_provider_unhealthy',
    'Providers failing more than PROVIDER_FAILURE_RATE of their last 100 sends (1 = unhealthy)',
    ['provider', 'channel'],
  );
  const failureRatio = databaseGauge(
    'policy_push_provider_failure_ratio',
    "Share of each provider's last 100 sends (every dispatcher's, from delivery_attempts) that failed",
    ['provider', 'channel'],
  );

  return {
    registry,

    observeHttp(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },

    observeSend(o: SendObservation) {
      sends.inc({ provider: o.provider, channel: o.channel, outcome: o.outcome });
      sendDuration.observe({ provider: o.provider, channel: o.channel }, o.latencyMs / 1000);
      if (o.outcome !== 'accepted') providerErrors.inc({ provider: o.provider, channel: o.channel, code: o.code ?? 'unknown' });
    },

    observeBreaker(channel, provider, state) {
      breakers.set(channel, { provider, state });
      for (const s of BREAKER_STATES) breaker.set({ provider, channel, state: s }, s === state ? 1 : 0);
    },

    breakerStates: () => new Map(breakers),

    async sendTotals() {
      const values = (await sends.get()).values;
      return values.map((v) => ({
        provider: String(v.labels.provider),
        channel: String(v.labels.channel),
        outcome: String(v.labels.outcome),
        count: v.value,
      }));
    },

    async refreshFromDatabase(db, { settings, providers, now }) {
      const [active, recent, estimate, queues, live, health] = await Promise.all([
        activeDeliveryCounts(db),
        recentDeliveryCounts(db, RECENT_DELIVERIES_WINDOW),
        estimatedDeliveryRows(db),
        queueDepths(db, now),
        livePushes(db, now, 1_000),
        checkHealth(db, settings, providers, now),
      ]);

      // Every channel has a series, at 0 when idle: a missing series reads as "no data", not "empty".
      deliveries.reset();
      for (const channel of CHANNELS) for (const status of LIVE_STATUSES) deliveries.set({ channel, status }, 0);
      for (const r of active) deliveries.set({ channel: r.channel, status: r.status }, r.n);
      recentDeliveries.reset();
      for (const r of recent) recentDeliveries.set({ channel: r.channel, status: r.status }, r.n);
      estimatedRows.set(estimate);

      for (const channel of CHANNELS) {
        const q = queues.find((x) => x.channel === channel);
        queueDepth.set({ channel }, q?.pending ?? 0);
        queueReady.set({ channel }, q?.ready ?? 0);
        queueOldest.set({ channel }, q?.oldestReadyAt ? Math.max(0, (now.getTime() - q.oldestReadyAt.getTime()) / 1000) : 0);
      }

      pushesLive.reset();
      for (const status of ['scheduled', 'fanning_out', 'fanned_out'])
        pushesLive.set({ status }, live.filter((p) => p.status === status).length);
      pushPending.reset();
      pushMatched.reset();
      for (const p of live.slice(0, LIVE_PUSH_SERIES)) {
        const ids = { push_id: String(p.pushId), policy_id: String(p.policyId) };
        pushPending.set({ ...ids, status: 'pending' }, p.pending);
        pushPending.set({ ...ids, status: 'sending' }, p.sending);
        pushMatched.set(ids, p.matched);
      }

      stalled.set(health.stalledPushes.length);
      unhealthy.reset();
      failureRatio.reset();
      for (const channel of CHANNELS) {
        const h = health.providers.find((x) => x.channel === channel);
        const labels = { provider: providers[channel], channel };
        unhealthy.set(labels, h?.unhealthy ? 1 : 0);
        failureRatio.set(labels, h?.rate ?? 0);
      }
      return health;
    },

    render: () => registry.metrics(),
  };
}
