import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '@policy-push/metrics';
import { type MetricsServer, serveMetrics } from './metrics-server';

describe("the standalone dispatcher's /metrics", () => {
  let server: MetricsServer | undefined;
  afterEach(() => server?.close());

  it('serves its provider calls and breakers, and none of the database-backed series', async () => {
    const metrics = createMetrics({ processMetrics: false, databaseSeries: false });
    metrics.observeSend({ channel: 'sms', provider: 'twilio', outcome: 'permanent', code: '21211', latencyMs: 12 });
    metrics.observeSend({ channel: 'sms', provider: 'twilio', outcome: 'accepted', code: null, latencyMs: 30 });
    metrics.observeBreaker('sms', 'twilio', 'open');
    server = await serveMetrics(metrics, { port: 0, host: '127.0.0.1' });

    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^policy_push_sends_total\{.*provider="twilio".*outcome="permanent".*\} 1$/m);
    expect(text).toMatch(/^policy_push_provider_errors_total\{.*code="21211".*\} 1$/m);
    expect(text).toMatch(/^policy_push_send_duration_seconds_count\{provider="twilio",channel="sms"\} 2$/m);
    expect(text).toMatch(/^policy_push_circuit_breaker_state\{.*state="open"\} 1$/m);
    for (const family of ['policy_push_stalled_pushes', 'policy_push_queue_depth', 'policy_push_deliveries '])
      expect(text).not.toContain(family);

    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
  });
});
