import type { Channel } from '@policy-push/core';
// Typed structurally, so testkit does not depend on the channels package (which tests with it).
interface Adapter<M> {
  channel: Channel;
  provider: string;
  send(message: M): Promise<unknown>;
  close?(): Promise<void>;
}

/**
 * Wraps an adapter and counts every raw call into it, before any dedupe, so a test can prove
 * "sent exactly once" from what the provider side would have seen.
 */
export function countingAdapter<M, A extends Adapter<M>>(inner: A, calls: M[]): A {
  return { ...inner, send: (message: M) => (calls.push(message), inner.send(message)) };
}

/** An adapter that accepts everything at once; provider ids are derived from the delivery ids. */
export function acceptingAdapter(channel: Adapter<unknown>['channel']) {
  return {
    channel,
    provider: 'test',
    send: async (m: { deliveryId: string }) => ({ outcome: 'accepted' as const, providerMessageId: `test-${m.deliveryId}` }),
  };
}
