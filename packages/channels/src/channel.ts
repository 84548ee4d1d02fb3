// The one interface every channel speaks (ARCHITECTURE.md "Channels"): send a rendered message,
// get back accepted, retryable or permanent. Receipts come back separately, by provider id.

import type { Channel } from '@policy-push/core';

export { CHANNELS, type Channel } from '@policy-push/core';

export interface WechatContent {
  templateId: string;
  url: string;
  data: Record<string, { value: string }>;
}
export interface SmsContent {
  text: string;
  segments: number;
}
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
  unsubscribeUrl: string;
}

export type OutboundMessage =
  | { deliveryId: string; channel: 'wechat'; to: string; content: WechatContent }
  | { deliveryId: string; channel: 'sms'; to: string; content: SmsContent }
  | { deliveryId: string; channel: 'email'; to: string; content: EmailContent };

export type SendResult =
  | { outcome: 'accepted'; providerMessageId: string; raw?: unknown }
  /**
   * Worth trying again later (after retryAfterMs when the provider said so). `pauseChannel` when
   * the provider is closed to everyone for a while (429, a daily quota): the channel is paused
   * for that long and the attempt is not counted against the delivery.
   */
  | { outcome: 'retryable'; code: string; message: string; retryAfterMs?: number; pauseChannel?: boolean; raw?: unknown }
  /**
   * Will never succeed as it is. `optOut` when the recipient refused the channel (suppress it);
   * `configError` when our configuration or template is wrong (raise to ops, not the recipient's fault).
   */
  | { outcome: 'permanent'; code: string; message: string; optOut?: boolean; configError?: boolean; raw?: unknown };

export interface Receipt {
  channel: Channel;
  providerMessageId: string;
  status: 'sent' | 'delivered' | 'undelivered' | 'failed';
  errorCode?: string;
  occurredAt: Date;
  payload?: unknown;
}

export interface ChannelAdapter {
  readonly channel: Channel;
  /** Provider name for logs and metrics, e.g. 'sandbox', 'twilio'. */
  readonly provider: string;
  send(message: OutboundMessage): Promise<SendResult>;
  close?(): Promise<void>;
}
