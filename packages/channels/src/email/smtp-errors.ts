// What a failed SMTP send means for the delivery (CHANNELS.md "Email": 4xx → retry, 5xx →
// permanent, every recipient rejected → EENVELOPE; errors carry `code`, `responseCode`,
// `response`). The codes are nodemailer's (its errors.ts: ECONNECTION, ETIMEDOUT, EAUTH…).
import type { SendResult } from '../channel';

/** The fields nodemailer puts on the errors it hands back (NodemailerError). */
export interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

type Failure = Exclude<SendResult, { outcome: 'accepted' }>;

// The connection went away, timed out or never came up: nothing was refused, so try again later.
const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROXY', 'EPROTOCOL', 'EMAXLIMIT', 'EABORT']);
// Our own settings are wrong: no recipient will fare better, so ops must hear of it.
const CONFIG_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ECONFIG', 'EREQUIRETLS']);

export function classifySmtpError(err: SmtpError): Failure {
  const reply = err.responseCode;
  const code = errorCode(err);
  const message = describe(err);
  const raw = { code: err.code, responseCode: reply, command: err.command };

  // RFC 4954: 454 is a temporary authentication failure; any other refused login is our config.
  if (CONFIG_CODES.has(err.code ?? '') && !(reply && reply < 500)) {
    return { outcome: 'permanent', code, message, configError: true, raw };
  }
  if (reply && reply >= 400 && reply < 500) return { outcome: 'retryable', code, message, raw };
  // 503 "bad sequence of commands" says the session was out of step, not that the message was
  // refused (nodemailer's isPermanentResponseCode makes the same exception): a new try can pass.
  if (reply === 503) return { outcome: 'retryable', code, message, raw };
  if (reply && reply >= 500) {
    // A refused sender (MAIL FROM) is our MAIL_FROM or our relay permission, not the recipient.
    if (err.command === 'MAIL FROM') return { outcome: 'permanent', code, message, configError: true, raw };
    // Everything else (unknown user 5.1.1, refused content 5.7.x…) fails this delivery, which then
    // falls back to the contact's next channel.
    return { outcome: 'permanent', code, message, raw };
  }
  if (CONNECTION_CODES.has(err.code ?? '')) return { outcome: 'retryable', code, message, raw };
  // No SMTP reply but the envelope or the message itself was refused before sending (an
  // unparseable address, an oversized message): sending it again changes nothing.
  if (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') return { outcome: 'permanent', code, message, raw };
  // Unknown: the outbox retries with backoff and gives up after its maximum attempts.
  return { outcome: 'retryable', code, message, raw };
}

/** `SMTP_550_5.1.1` when the server answered (with its enhanced status when given), else nodemailer's code. */
function errorCode(err: SmtpError): string {
  if (!err.responseCode) return err.code ?? 'SMTP_ERROR';
  const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(err.response ?? '')?.[1];
  return enhanced ? `SMTP_${err.responseCode}_${enhanced}` : `SMTP_${err.responseCode}`;
}

/** Which step failed and what the server said, with any e-mail address in it masked. */
function describe(err: SmtpError): string {
  const base = err.response ? `${err.command ?? 'SMTP'}: ${err.response}` : (err.message ?? String(err.code));
  return maskEmails(recipientProblem(err) ? `recipient refused: ${base}` : base);
}

// 5.1.x are address problems (RFC 3463: 5.1.1 no such mailbox, 5.1.2 bad domain…); a refusal at
// RCPT TO is about the recipient too.
function recipientProblem(err: SmtpError): boolean {
  if (!err.responseCode || err.responseCode < 500) return false;
  return err.command === 'RCPT TO' || /^\d{3}[ -]5\.1\.\d+/.test(err.response ?? '');
}

// Servers quote the recipient in their replies; attempts are shown to operators and may be logged.
export function maskEmails(text: string): string {
  return text.replace(/([^\s<>"'@:;,]{1,2})[^\s<>"'@:;,]*@([^\s<>"';,]+)/g, '$1***@$2');
}
