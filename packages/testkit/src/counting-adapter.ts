import type { ChannelAdapter, OutboundMessage, SendResult } from '@policy-push/channels';

/**
 * Wraps an adapter and counts every raw call into it, before any dedupe, so a test can prove
 * "sent exactly once" from what the provider side would have seen.
 */
export function countingAdapter(inner: ChannelAdapter, calls: OutboundMessage[]): ChannelAdapter {
  return {
    channel: inner.channel,
    provider: inner.provider,
    async send(message: OutboundMessage): Promise<SendResult> {
      calls.push(message);
      return inner.send(message);
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  };
}

/** An adapter that accepts everything at once; ids are the delivery ids. */
export function acceptingAdapter(channel: ChannelAdapter['channel']): ChannelAdapter {
  return {
    channel,
    provider: 'test',
    send: async (m) => ({ outcome: 'accepted', providerMessageId: `test-${m.deliveryId}` }),
  };
}
