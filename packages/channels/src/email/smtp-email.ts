// The real email adapter: a pool of nodemailer SMTP sessions (CHANNELS.md "Email"). Every message
// carries text and HTML parts, a Message-ID made from the delivery id, and the RFC 8058 one-click
// unsubscribe headers; it is built in one pass (smtp-mime.ts) and sent as it is (smtp-pool.ts).
// Settings come from the validated config (SMTP_URL, MAIL_FROM, SMTP_MAX_CONNECTIONS,
// PROVIDER_TIMEOUT_MS), never from the environment.
import type { ProviderSettings } from '@policy-push/core';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import type { ChannelAdapter, OutboundMessage } from '../channel';
import { classifySmtpError, type SmtpError } from './smtp-errors';
import { asciiAddress, buildMime, parseSender } from './smtp-mime';
import { createSmtpPool } from './smtp-pool';

export interface SmtpEmailAdapterOptions {
  settings: NonNullable<ProviderSettings['smtp']>;
  /** Connect, greeting and idle-socket timeout: a stalled server must not hold a claimed delivery. */
  timeoutMs: number;
}

export function createSmtpEmailAdapter(opts: SmtpEmailAdapterOptions): ChannelAdapter {
  const { settings, timeoutMs } = opts;
  const sender = parseSender(settings.from);
  const { auth, ...server } = parseConnectionUrl(settings.url);
  // SMTP_PER_SECOND is the dispatcher's rate window (shared by every dispatcher), not this pool's.
  const pool = createSmtpPool({
    connection: {
      ...server,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      dnsTimeout: timeoutMs,
      logger: false,
    },
    auth: auth?.user && auth.pass ? { user: auth.user, pass: auth.pass } : undefined,
    maxConnections: settings.maxConnections,
  });

  return {
    channel: 'email',
    provider: 'smtp',
    async send(message: OutboundMessage) {
      if (message.channel !== 'email') {
        return { outcome: 'permanent', code: 'WRONG_CHANNEL', message: `smtp adapter got a ${message.channel} message`, configError: true };
      }
      const messageId = deliveryMessageId(message.deliveryId, sender.domain);
      try {
        await pool.send(
          { from: sender.address, to: [asciiAddress(message.to)] },
          mimeFor(sender.header, message, messageId, sender.domain),
        );
        // Email has no delivery receipts: a 250 after DATA only means the next server took the
        // message. The Message-ID is the id a bounce or a reply would quote, so it is the
        // provider id; the delivery stays `sent` unless something reports otherwise.
        return { outcome: 'accepted', providerMessageId: messageId };
      } catch (err) {
        return classifySmtpError(err as SmtpError);
      }
    },
    /** Closes idle connections now and busy ones once their message is done. */
    async close() {
      pool.close();
    },
  };
}

/**
 * `<delivery-{id}@{sender domain}>`: the same for every attempt of one delivery, so a resend
 * after a timeout is recognisably the same message (receivers and clients drop duplicates by it).
 */
export function deliveryMessageId(deliveryId: string, domain: string): string {
  return `<delivery-${deliveryId}@${domain}>`;
}

type EmailMessage = Extract<OutboundMessage, { channel: 'email' }>;

function mimeFor(from: string, { deliveryId, to, content }: EmailMessage, messageId: string, domain: string): Buffer {
  return buildMime({
    from,
    to,
    subject: content.subject,
    text: content.text,
    html: content.html,
    messageId,
    headers: {
      // One List-Unsubscribe header: `<https://…/u/TOKEN>, <mailto:…>`. The https link is the signed
      // one-click link; the mailto is for clients that only know mail.
      'List-Unsubscribe': `<${content.unsubscribeUrl}>, <mailto:unsubscribe@${domain}?subject=unsubscribe%20${encodeURIComponent(deliveryId)}>`,
      // RFC 8058: the https URL accepts a POST of `List-Unsubscribe=One-Click` with no cookie or
      // login (services/api routes/unsubscribe). With DKIM, List-Unsubscribe-Post must be among
      // the signed headers or receivers ignore it.
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
  });
}
