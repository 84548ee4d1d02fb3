// Tells the metrics registry (packages/metrics) what one sent batch did: each provider call and
// each channel's circuit breaker.
import type { Channel, ChannelAdapter } from '@policy-push/channels';
import type { ClaimedDelivery } from '@policy-push/db';
import type { DispatcherMetrics, SendObservation } from '@policy-push/metrics';
import type { CircuitBreaker } from './circuit-breaker';
import type { SendDecision } from './send-one';

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
