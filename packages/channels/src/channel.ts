// The one interface every channel speaks (ARCHITECTURE.md "Channels"): send a rendered message,
// get back accepted, retryable or permanent. Receipts come back separately, by provider id.

export type Channel = 'wechat' | 'sms' | 'email';
export const CHANNELS: readonly Channel[] = ['wechat', 'sms', 'email'];

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
  /** Worth trying again later (after retryAfterMs when the provider said so). */
  | { outcome: 'retryable'; code: string; message: string; retryAfterMs?: number; raw?: unknown }
  /** Will never succeed for this recipient or content; `optOut` when the recipient refused the channel. */
  | { outcome: 'permanent'; code: string; message: string; optOut?: boolean; raw?: unknown };

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
