import {
  type Channel,
  type ChannelAdapter,
  createSandboxAdapter,
  createSmtpEmailAdapter,
  createTwilioSmsAdapter,
  createWechatAdapter,
  createWechatTokenSource,
  type SandboxRecorder,
} from '@policy-push/channels';
import { type Config, type Logger, safeError } from '@policy-push/core';
import { type Database, providerTokenStore, recordReceipt } from '@policy-push/db';
import { createSandboxRecorder } from './sandbox-recorder';

export interface Adapters {
  byChannel: Record<Channel, ChannelAdapter>;
  /** Always the sandbox: what test keys' policies are sent through, whatever providers are configured. */
  sandbox: Record<Channel, ChannelAdapter>;
  close(): Promise<void>;
}

/**
 * The channel adapters this process sends through: a provider's real adapter when its settings
 * are present (PROVIDERS in the README), otherwise the sandbox, which renders and records each
 * message for ops and reports simulated receipts the way a provider's webhook would.
 */
export function createAdapters(config: Config, db: Database, logger: Logger, opts: { receiptDelayMs?: number } = {}): Adapters {
  const log = logger.child({ component: 'channels' });
  const { providers } = config;
  const recorder: SandboxRecorder = createSandboxRecorder(db, {
    onError: (err, lost) => log.error({ err: safeError(err), lost }, 'sandbox recorder lost messages'),
  });
  const onReceipt = (r: Parameters<typeof recordReceipt>[1]) =>
    recordReceipt(db, r, { requireConfirmedEmail: config.dispatcher.requireConfirmedEmail }).then(
      () => undefined,
      (err) => log.error({ err: safeError(err) }, 'receipt not recorded'),
    );
  const sandbox = (channel: Channel) => createSandboxAdapter(channel, { recorder, onReceipt, receiptDelayMs: opts.receiptDelayMs });
  const sandboxes: Record<Channel, ChannelAdapter> = { wechat: sandbox('wechat'), sms: sandbox('sms'), email: sandbox('email') };

  const byChannel: Record<Channel, ChannelAdapter> = {
    wechat: providers.wechat
      ? createWechatAdapter({
          settings: providers.wechat,
          timeoutMs: providers.timeoutMs,
          maxConnections: config.dispatcher.sendConcurrency,
          // The stable token lives in Postgres for every dispatcher; one refreshes it at a time.
          tokens: createWechatTokenSource({
            store: providerTokenStore(db, 'wechat'),
            settings: providers.wechat,
            timeoutMs: providers.timeoutMs,
          }),
        })
      : sandboxes.wechat,
    sms: providers.twilio
      ? createTwilioSmsAdapter({
          settings: providers.twilio,
          timeoutMs: providers.timeoutMs,
          maxConnections: config.dispatcher.sendConcurrency,
          statusCallbackUrl: `${config.publicBaseUrl}/webhooks/twilio/status`,
        })
      : sandboxes.sms,
    email: providers.smtp ? createSmtpEmailAdapter({ settings: providers.smtp, timeoutMs: providers.timeoutMs }) : sandboxes.email,
  };
  // As one string: the log redacts any field named `email`, the channel's name included.
  const chosen = Object.entries(byChannel)
    .map(([channel, adapter]) => `${channel}=${adapter.provider}`)
    .join(' ');
  log.info({ providers: chosen }, 'channels ready');
  return {
    byChannel,
    sandbox: sandboxes,
    async close() {
      for (const a of new Set([...Object.values(byChannel), ...Object.values(sandboxes)])) await a.close?.();
      await recorder.close();
    },
  };
}
