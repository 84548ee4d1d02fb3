// What a dispatcher tells the metrics registry: each provider call (latency, outcome, error code)
// and each channel's circuit breaker. The registry itself (prom-client) belongs to the process
// that serves /metrics — the API, which in embedded mode runs the dispatcher in the same process
// and hands its registry in as the dispatcher's metrics. Without one, nothing is recorded.
import type { Channel } from '@policy-push/channels';

export const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

export interface SendObservation {
  channel: Channel;
  /** The adapter's provider name: sandbox, wechat, twilio, smtp. */
  provider: string;
  outcome: 'accepted' | 'retryable' | 'permanent';
  /** The provider's error code; null when accepted. */
  code: string | null;
  latencyMs: number;
}

export interface DispatcherMetrics {
  observeSend(o: SendObservation): void;
  observeBreaker(channel: Channel, provider: string, state: BreakerState): void;
}

export const noDispatcherMetrics: DispatcherMetrics = { observeSend() {}, observeBreaker() {} };
