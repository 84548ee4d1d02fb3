// What the dispatcher tells the metrics registry: each provider call (latency, outcome, error
// code) and each channel's circuit breaker. The registry itself (prom-client) belongs to the
// process that serves /metrics — the API, which in embedded mode runs this dispatcher in the same
// process and hands its registry in as `DispatcherDeps.metrics`. Without one, nothing is recorded.
import type { Channel, ChannelAdapter } from '@policy-push/channels';
import type { Config } from '@policy-push/core';
import type { ClaimedDelivery } from '@policy-push/db';
import type { CircuitBreaker } from './circuit-breaker';
import type { SendDecision } from './send-one';

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
  observeBreaker(channel: Channel, provider: string, state: CircuitBreaker['state']): void;
}

export const noDispatcherMetrics: DispatcherMetrics = { observeSend() {}, observeBreaker() {} };

/**
 * Records one sent batch: every decision that called a provider carries an attempt record
 * (decisions that never reached a provider — quiet hours, a cap, an open circuit — carry none).
 */
export function observeBatch(
  metrics: DispatcherMetrics,
  batch: ClaimedDelivery[],
  decisions: SendDecision[],
  adapters: Record<Channel, ChannelAdapter>,
  breakers: Record<Channel, CircuitBreaker>,
): void {
  const channels = new Set<Channel>();
  decisions.forEach((decision, i) => {
    const attempt = decision.outcome.attemptRecord;
    const channel = batch[i].channel;
    channels.add(channel);
    if (!attempt) return;
    metrics.observeSend({
      channel,
      provider: adapters[channel].provider,
      outcome: attempt.outcome as SendObservation['outcome'],
      code: attempt.providerCode,
      latencyMs: attempt.latencyMs,
    });
  });
  for (const channel of channels) metrics.observeBreaker(channel, adapters[channel].provider, breakers[channel].state);
}

/**
 * The provider behind each channel as this configuration sets it up (createAdapters): the real
 * one when its settings are present, otherwise the sandbox. For labels where no adapter is at hand.
 */
export function providerNames(config: Config): Record<Channel, string> {
  const { wechat, twilio, smtp } = config.providers;
  return { wechat: wechat ? 'wechat' : 'sandbox', sms: twilio ? 'twilio' : 'sandbox', email: smtp ? 'smtp' : 'sandbox' };
}
