// /metrics after a small sandbox push, read by a real Prometheus text parser plus a strict
// line-by-line check of the exposition format (test/prometheus-text.ts).
import { createLogger } from '@policy-push/core';
import { fanOutNextChunk, sql } from '@policy-push/db';
import { createAdapters, type Dispatcher, startDispatcher } from '@policy-push/dispatcher';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, call, policyBody, seedWorld, type TestApp } from './helpers';
import { readMetrics } from './prometheus-text';

const NAMED_SERIES = [
  'policy_push_deliveries',
  'policy_push_recent_deliveries',
  'policy_push_deliveries_estimated_rows',
  'policy_push_queue_depth',
  'policy_push_queue_ready',
  'policy_push_queue_oldest_age_seconds',
  'policy_push_send_duration_seconds',
  'policy_push_sends_total',
  'policy_push_provider_errors_total',
  'policy_push_circuit_breaker_state',
  'policy_push_live_pushes',
  'policy_push_push_pending_deliveries',
  'policy_push_push_matched',
  'policy_push_stalled_pushes',
  'policy_push_provider_unhealthy',
  'policy_push_provider_failure_ratio',
  'policy_push_http_requests_total',
  'policy_push_http_request_duration_seconds',
  'process_cpu_user_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_seconds',
];

// Series with labels that only exist once something happened (a live push, a provider call).
const AFTER_SENDS = new Set([
  'policy_push_push_pending_deliveries',
  'policy_push_push_matched',
  'policy_push_sends_total',
  'policy_push_provider_errors_total',
  'policy_push_circuit_breaker_state',
  'policy_push_send_duration_seconds',
]);

describe('GET /metrics', () => {
  let h: TestApp;
  let adapters: ReturnType<typeof createAdapters>;
  let dispatcher: Dispatcher | undefined;

  beforeAll(async () => {
    h = await buildTestApp({ DISPATCH_POLL_MS: '20' });
    adapters = createAdapters(h.app.deps.config, h.t.db, createLogger({ level: 'silent' }), { receiptDelayMs: 5 });
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await adapters.close();
    await h.close();
  });

  const scrape = async () => {
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4; charset=utf--?8$/i);
    return readMetrics(res.body);
  };

  it('answers without an API key, in a format a parser reads, with every named series', async () => {
    const m = await scrape();
    for (const name of NAMED_SERIES.filter((n) => !AFTER_SENDS.has(n))) expect(m.families.has(name), name).toBe(true);
    // Idle: every channel reported, at zero.
    for (const channel of ['wechat', 'sms', 'email']) {
      expect(m.value('policy_push_queue_depth', { channel })).toBe(0);
      expect(m.value('policy_push_deliveries', { channel, status: 'pending' })).toBe(0);
      expect(m.value('policy_push_provider_unhealthy', { channel, provider: 'sandbox' })).toBe(0);
    }
    expect(m.value('policy_push_stalled_pushes')).toBe(0);
    expect(m.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts a push: its queue while fanned out, then sends, latencies, errors by code and delivery states', async () => {
    const world = await seedWorld(h, [
      { email: 'ok@example.com' },
      { email: 'permanent@sandbox.invalid' }, // sandbox: refused for good
      { phone: '+12025550150', channels: ['sms'] },
    ]);
    const published = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    const pushId = published.push.id;
    // Fanned out by hand, nothing sent yet: the queue holds the push's three deliveries.
    while (await fanOutNextChunk(h.t.db, 100)) {}
    const queued = await scrape();
    expect(queued.value('policy_push_queue_depth', { channel: 'email' })).toBe(2);
    expect(queued.value('policy_push_queue_depth', { channel: 'sms' })).toBe(1);
    expect(queued.value('policy_push_queue_ready', { channel: 'email' })).toBe(2);
    expect(queued.value('policy_push_queue_oldest_age_seconds', { channel: 'email' })).toBeGreaterThanOrEqual(0);
    expect(queued.value('policy_push_queue_oldest_age_seconds', { channel: 'email' })).toBeLessThan(60);
    expect(queued.value('policy_push_deliveries', { channel: 'email', status: 'pending' })).toBe(2);
    expect(queued.value('policy_push_push_pending_deliveries', { push_id: pushId, status: 'pending' })).toBe(3);
    expect(queued.value('policy_push_push_matched', { push_id: pushId })).toBe(3);
    expect(queued.value('policy_push_live_pushes', { status: 'fanned_out' })).toBe(1);

    dispatcher = await startDispatcher({
      config: h.app.deps.config,
      db: h.t,
      logger: createLogger({ level: 'silent' }),
      adapters: adapters.byChannel,
      withJobs: false,
      signingSecret: h.app.deps.signingSecret,
      metrics: h.app.metrics,
    });
    await vi.waitFor(
      async () => expect((await call(h, 'GET', `/v1/policies/${published.policy.id}/push`, undefined, 200)).done).toBe(true),
      {
        timeout: 15_000,
        interval: 50,
      },
    );

    const m = await scrape();
    for (const name of NAMED_SERIES) expect(m.families.has(name), name).toBe(true);
    expect(m.value('policy_push_sends_total', { provider: 'sandbox', channel: 'email', outcome: 'accepted' })).toBe(1);
    expect(m.value('policy_push_sends_total', { provider: 'sandbox', channel: 'email', outcome: 'permanent' })).toBe(1);
    expect(m.value('policy_push_sends_total', { provider: 'sandbox', channel: 'sms', outcome: 'accepted' })).toBe(1);
    expect(m.value('policy_push_provider_errors_total', { provider: 'sandbox', channel: 'email', code: 'SANDBOX_PERMANENT' })).toBe(1);
    const latency = m.histogram('policy_push_send_duration_seconds', { provider: 'sandbox', channel: 'email' });
    expect(latency?.count).toBe(2);
    expect(latency?.sum).toBeGreaterThanOrEqual(0);
    expect(latency?.sum).toBeLessThan(10);
    expect(m.value('policy_push_circuit_breaker_state', { channel: 'email', state: 'closed' })).toBe(1);
    expect(m.value('policy_push_circuit_breaker_state', { channel: 'email', state: 'open' })).toBe(0);

    for (const channel of ['wechat', 'sms', 'email']) {
      expect(m.value('policy_push_queue_depth', { channel })).toBe(0);
      expect(m.value('policy_push_queue_oldest_age_seconds', { channel })).toBe(0);
      expect(m.value('policy_push_deliveries', { channel, status: 'sending' })).toBe(0);
    }
    // Every status among the newest deliveries: the failed one, and two sent or already delivered.
    const recent = m.samples('policy_push_recent_deliveries');
    expect(recent.reduce((a, s) => a + s.value, 0)).toBe(3);
    expect(m.value('policy_push_recent_deliveries', { channel: 'email', status: 'failed' })).toBe(1);
    // Done: no live push, no per-push series left behind.
    expect(m.samples('policy_push_push_pending_deliveries')).toEqual([]);
    expect(m.value('policy_push_live_pushes', { status: 'fanned_out' })).toBe(0);
    // Three sends are too few to judge a provider.
    expect(m.value('policy_push_provider_failure_ratio', { channel: 'email' })).toBe(0.5);
    expect(m.value('policy_push_provider_unhealthy', { channel: 'email' })).toBe(0);
    expect(m.value('policy_push_stalled_pushes')).toBe(0);

    // HTTP: by route pattern, never by URL.
    expect(m.value('policy_push_http_requests_total', { method: 'POST', route: '/v1/policies', status: '202' })).toBe(1);
    expect(m.value('policy_push_http_requests_total', { method: 'GET', route: '/v1/policies/:id/push', status: '200' })).toBeGreaterThan(0);
    expect(m.samples('policy_push_http_requests_total').some((s) => /\/\d/.test(s.labels.route))).toBe(false);
    expect(m.histogram('policy_push_http_request_duration_seconds', { method: 'POST', route: '/v1/policies', status: '202' })?.count).toBe(
      1,
    );
  });

  it('reports a stalled push and an unhealthy provider', async () => {
    await dispatcher?.stop();
    dispatcher = undefined;
    const world = await seedWorld(h, [{ email: 'late@example.com' }, { email: 'late2@example.com' }]);
    const published = await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    while (await fanOutNextChunk(h.t.db, 100)) {}
    // The fixture: its deliveries were due, and last touched, 11 minutes ago (STALLED_PUSH_MINUTES is 10).
    await h.t.db.execute(sql`
      update deliveries set next_attempt_at = now() - interval '11 minutes', updated_at = now() - interval '11 minutes'
      where policy_id = ${Number(published.policy.id)}`);
    // And 30 failed SMS sends: past 20% of the last 100.
    await h.t.db.execute(sql`
      insert into delivery_attempts (delivery_id, attempt, outcome, provider_code, latency_ms, worker)
      select (select id from deliveries where channel = 'sms' limit 1), 1, 'retryable', '30008', 5, 'test' from generate_series(1, 30)`);
    const m = await scrape();
    expect(m.value('policy_push_stalled_pushes')).toBe(1);
    expect(m.value('policy_push_provider_unhealthy', { channel: 'sms', provider: 'sandbox' })).toBe(1);
    expect(m.value('policy_push_provider_unhealthy', { channel: 'email', provider: 'sandbox' })).toBe(0);
  });
});
