import type { Config } from '@policy-push/core';
import type { Channel } from './channel';

/**
 * The provider behind each channel as this configuration sets it up (createAdapters): the real
 * one when its settings are present, otherwise the sandbox. For labels where no adapter is at hand.
 */
export function providerNames(config: Config): Record<Channel, string> {
  const { wechat, twilio, smtp } = config.providers;
  return { wechat: wechat ? 'wechat' : 'sandbox', sms: twilio ? 'twilio' : 'sandbox', email: smtp ? 'smtp' : 'sandbox' };
}
