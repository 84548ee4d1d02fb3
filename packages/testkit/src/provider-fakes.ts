import { type FakeTwilio, startFakeTwilio } from './fake-twilio';
import { type FakeWechat, startFakeWechat } from './fake-wechat';
import { type SmtpTestServer, startSmtpTestServer } from './smtp-test-server';

export interface ProviderFakes {
  twilio: FakeTwilio;
  wechat: FakeWechat;
  smtp: SmtpTestServer;
  /** The settings that point a service at these three (TWILIO_*, WECHAT_*, SMTP_URL, MAIL_FROM). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Every provider at once, as an end-to-end test or the bench configures them: the fake Twilio,
 * the fake WeChat (calling back `wechatCallbackUrl`, the service's /webhooks/wechat) and a real
 * SMTP server.
 */
export async function startProviderFakes(
  opts: { wechatCallbackUrl?: string; wechat?: { appId: string; appSecret: string; token: string } } = {},
): Promise<ProviderFakes> {
  const app = opts.wechat ?? { appId: 'wx0123456789abcdef', appSecret: 'wechat-secret', token: 'wechat-token' };
  const twilio = await startFakeTwilio();
  const wechat = await startFakeWechat({ ...app, callbackUrl: opts.wechatCallbackUrl });
  const smtp = await startSmtpTestServer();
  return {
    twilio,
    wechat,
    smtp,
    env: {
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_URL: twilio.url,
      WECHAT_APP_ID: app.appId,
      WECHAT_APP_SECRET: app.appSecret,
      WECHAT_TOKEN: app.token,
      WECHAT_API_URL: wechat.url,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Policy Push <push@example.org>',
    },
    async close() {
      await Promise.all([twilio.close(), wechat.close(), smtp.close()]);
    },
  };
}
