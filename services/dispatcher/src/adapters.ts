import {
  type Channel,
  type ChannelAdapter,
  createSandboxAdapter,
  createSandboxRecorder,
  type SandboxRecorder,
} from '@policy-push/channels';
import { type Logger, safeError } from '@policy-push/core';
import { type Database, recordReceipt } from '@policy-push/db';

export interface Adapters {
  byChannel: Record<Channel, ChannelAdapter>;
  close(): Promise<void>;
}

/**
 * The channel adapters this process sends through. Sandbox for every channel until real
 * providers are configured; the sandbox records each rendered message for ops and reports its
 * simulated receipts the way a provider's webhook would.
 */
export function createAdapters(db: Database, logger: Logger, opts: { receiptDelayMs?: number } = {}): Adapters {
  const log = logger.child({ component: 'channels' });
  const recorder: SandboxRecorder = createSandboxRecorder(db, {
    onError: (err, lost) => log.error({ err: safeError(err), lost }, 'sandbox recorder lost messages'),
  });
  const onReceipt = (r: Parameters<typeof recordReceipt>[1]) =>
    recordReceipt(db, r).then(
      () => undefined,
      (err) => log.error({ err: safeError(err) }, 'receipt not recorded'),
    );
  const sandbox = (channel: Channel) => createSandboxAdapter(channel, { recorder, onReceipt, receiptDelayMs: opts.receiptDelayMs });
  const byChannel = { wechat: sandbox('wechat'), sms: sandbox('sms'), email: sandbox('email') };
  return {
    byChannel,
    async close() {
      for (const a of Object.values(byChannel)) await a.close?.();
      await recorder.close();
    },
  };
}
