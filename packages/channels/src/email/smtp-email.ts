// The real email adapter: a pooled nodemailer SMTP transport (CHANNELS.md "Email"). Every message
// carries text and HTML parts, a Message-ID made from the delivery id, and the RFC 8058 one-click
// unsubscribe headers. Settings come from the validated config (SMTP_URL, MAIL_FROM,
// SMTP_MAX_CONNECTIONS, SMTP_PER_SECOND, PROVIDER_TIMEOUT_MS), never from the environment.
import type { ProviderSettings } from '@policy-push/core';
import nodemailer from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import type { ChannelAdapter, OutboundMessage } from '../channel';
import { classifySmtpError, type SmtpError } from './smtp-errors';

export interface SmtpEmailAdapterOptions {
  settings: NonNullable<ProviderSettings['smtp']>;
  /** Connect, greeting and idle-socket timeout: a stalled server must not hold a claimed delivery. */
  timeoutMs: number;
}

export function createSmtpEmailAdapter(opts: SmtpEmailAdapterOptions): ChannelAdapter {
  const { settings, timeoutMs } = opts;
  const domain = senderDomain(settings.from);
  const transport = nodemailer.createTransport({
    url: settings.url,
    pool: true,
    maxConnections: settings.maxConnections,
    // SMTP_PER_SECOND messages per 1 s window, across the whole pool.
    rateLimit: settings.perSecond,
    rateDelta: 1000,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    // The outbox is the retry: it backs off and counts attempts. A message silently requeued inside
    // the pool after a dropped connection would outlive the delivery's lease and hide the attempt.
    maxRequeues: 0,
    // Content is rendered by us; nothing in a message may make the mailer read a file or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });

  return {
    channel: 'email',
    provider: 'smtp',
    async send(message: OutboundMessage) {
      if (message.channel !== 'email') {
        return { outcome: 'permanent', code: 'WRONG_CHANNEL', message: `smtp adapter got a ${message.channel} message`, configError: true };
      }
      const messageId = deliveryMessageId(message.deliveryId, domain);
      try {
        await transport.sendMail(mailFor(settings.from, message, messageId, domain));
        // Email has no delivery receipts: a 250 after DATA only means the next server took the
        // message. The Message-ID is the id a bounce or a reply would quote, so it is the
        // provider id; the delivery stays `sent` unless something reports otherwise.
        return { outcome: 'accepted', providerMessageId: messageId };
      } catch (err) {
        return classifySmtpError(err as SmtpError);
      }
    },
    /** Closes idle pooled connections now and busy ones once their message is done. */
    async close() {
      transport.close();
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

function mailFor(from: string, { deliveryId, to, content }: EmailMessage, messageId: string, domain: string) {
  return {
    from,
    to,
    subject: content.subject,
    text: content.text,
    html: content.html,
    messageId,
    list: {
      // One List-Unsubscribe header: `<https://…/u/TOKEN>, <mailto:…>`. The https link is the signed
      // one-click link; the mailto is for clients that only know mail.
      unsubscribe: [[content.unsubscribeUrl, `mailto:unsubscribe@${domain}?subject=unsubscribe%20${encodeURIComponent(deliveryId)}`]],
    },
    headers: {
      // RFC 8058: the https URL accepts a POST of `List-Unsubscribe=One-Click` with no cookie or
      // login (services/api routes/unsubscribe). With DKIM, List-Unsubscribe-Post must be among the
      // signed headers or receivers ignore it. nodemailer left it out of its default signed list
      // until 10.6.1 (CHANGELOG "dkim: sign List-Unsubscribe-Post by default"); any DKIM setup with
      // its own `headerFieldNames` must list it next to List-Unsubscribe.
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
  };
}

/** The domain of MAIL_FROM (`政策推送 <noreply@example.gov.cn>` → `example.gov.cn`), for Message-IDs. */
function senderDomain(from: string): string {
  const [first] = addressparser(from, { flatten: true });
  const domain = first?.address.split('@')[1];
  if (!domain) throw new Error('MAIL_FROM: no e-mail address with a domain in it');
  return domain.toLowerCase();
}
