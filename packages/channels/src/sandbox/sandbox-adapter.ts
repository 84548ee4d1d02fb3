// The sandbox adapter: checks a message as the real provider would, records it instead of
// sending it, answers the outcome its magic recipient asks for (magic-recipients.ts) and later
// sends the receipt a provider would. The embedded mode's default transport, and the tests'.
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { safeError } from '@policy-push/core';
import type { Channel, ChannelAdapter, OutboundMessage, Receipt, SendResult } from '../channel';
import { type MagicOutcome, magicOutcome, SANDBOX_CODES } from './magic-recipients';
import type { SandboxRecorder } from './sandbox-recorder';
import { validateMessage } from './validate-message';

export interface SandboxAdapterOptions {
  recorder: SandboxRecorder;
  /** Called with each receipt, as a provider's webhook would be. */
  onReceipt: (receipt: Receipt) => void | Promise<void>;
  /** Time from an accepted send to its receipt. Default 50 ms. */
  receiptDelayMs?: number;
  /** How long a `slow` recipient's send takes. Default 2 s. */
  slowMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** A receipt handler that threw or rejected, or a recorder that threw. */
  onError?: (err: unknown) => void;
}

// "First send of a delivery id in this process": shared by every sandbox adapter in the process.
const flakySeen = new Set<string>();

export function createSandboxAdapter(channel: Channel, opts: SandboxAdapterOptions): ChannelAdapter {
  const receiptDelayMs = opts.receiptDelayMs ?? 50;
  const slowMs = opts.slowMs ?? 2000;
  const sleep = opts.sleep ?? ((ms: number) => delay(ms));
  const onError = opts.onError ?? warn;
  const pending = new Set<NodeJS.Timeout>();
  let closed = false;

  function emit(receipt: Receipt): void {
    try {
      Promise.resolve(opts.onReceipt(receipt)).catch(onError);
    } catch (err) {
      onError(err);
    }
  }

  // unref'd: a pending receipt never keeps the process alive, as a provider's webhook would not.
  function scheduleReceipt(providerMessageId: string, magic: MagicOutcome): void {
    if (closed) return;
    const undelivered = magic === 'undelivered';
    const timer = setTimeout(() => {
      pending.delete(timer);
      emit({
        channel,
        providerMessageId,
        status: undelivered ? 'undelivered' : 'delivered',
        ...(undelivered ? { errorCode: SANDBOX_CODES.undelivered } : {}),
        occurredAt: new Date(),
        payload: { sandbox: true, outcome: magic },
      });
    }, receiptDelayMs);
    timer.unref();
    pending.add(timer);
  }

  async function simulate(message: OutboundMessage, magic: MagicOutcome): Promise<SendResult> {
    const raw = { sandbox: true, outcome: magic };
    switch (magic) {
      case 'temporary':
        return { outcome: 'retryable', code: SANDBOX_CODES.temporary, message: 'sandbox: temporary failure', raw };
      case 'flaky':
        if (!flakySeen.has(message.deliveryId)) {
          flakySeen.add(message.deliveryId);
          return { outcome: 'retryable', code: SANDBOX_CODES.temporary, message: 'sandbox: flaky, first attempt fails', raw };
        }
        break;
      case 'permanent':
        return { outcome: 'permanent', code: SANDBOX_CODES.permanent, message: 'sandbox: permanent failure', raw };
      case 'opted-out':
        return { outcome: 'permanent', code: SANDBOX_CODES.optedOut, message: 'sandbox: recipient opted out', optOut: true, raw };
      case 'slow':
        await sleep(slowMs);
        break;
    }
    return { outcome: 'accepted', providerMessageId: `sandbox-${channel}-${randomBytes(8).toString('hex')}`, raw };
  }

  return {
    channel,
    provider: 'sandbox',
    async send(message) {
      const problem = validateMessage(channel, message);
      if (problem) return { outcome: 'permanent', code: SANDBOX_CODES.invalidMessage, message: `sandbox: ${problem}` };
      const magic = magicOutcome(channel, message.to);
      const result = await simulate(message, magic);
      try {
        opts.recorder.record({
          deliveryId: message.deliveryId,
          channel,
          recipient: message.to,
          content: message.content,
          outcome: result.outcome,
        });
      } catch (err) {
        onError(err);
      }
      if (result.outcome === 'accepted') scheduleReceipt(result.providerMessageId, magic);
      return result;
    },
    /** Drops receipts not yet sent; the recorder is shared, so its owner closes it. */
    async close() {
      closed = true;
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
    },
  };
}

function warn(err: unknown): void {
  process.emitWarning(`sandbox adapter: ${String(safeError(err).message)}`);
}
