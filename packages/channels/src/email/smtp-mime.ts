// One email as the bytes sent after DATA: headers encoded and folded by nodemailer's own MIME
// functions, a multipart/alternative of the text and the HTML, each in base64. Written in one
// pass into one buffer: nodemailer's MailComposer builds the same through a tree of streams,
// a timer turn per part and a socket write per chunk, which was most of a send's CPU
// (docs/BENCHMARKS.md, "Provider clients").
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { encode as base64, wrap } from 'nodemailer/lib/base64';
import { encodeWords, foldLines, isPlainText } from 'nodemailer/lib/mime-funcs';

export interface MimeMessage {
  /** The From header, already encoded (fromHeader). */
  from: string;
  to: string;
  subject: string;
  messageId: string;
  /** Header name → value, ASCII (List-Unsubscribe, List-Unsubscribe-Post). */
  headers: Record<string, string>;
  text: string;
  html: string;
  date?: Date;
}

export interface Sender {
  /** The encoded From header value. */
  header: string;
  /** The bare address, for MAIL FROM. */
  address: string;
  domain: string;
}

/** MAIL_FROM (`政策推送 <noreply@example.gov.cn>`) as a header value and an envelope address. */
export function parseSender(from: string): Sender {
  const [first] = addressparser(from, { flatten: true });
  const address = first ? asciiAddress(first.address) : '';
  const domain = address.split('@')[1];
  if (!domain) throw new Error('MAIL_FROM: no e-mail address with a domain in it');
  const name = first.name ? displayName(first.name) : '';
  return { header: name ? `${name} <${address}>` : address, address, domain: domain.toLowerCase() };
}

/** The domain in ASCII (punycode), as nodemailer sends it; the local part is left as it is. */
export function asciiAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0 || isPlainText(address)) return address;
  return `${address.slice(0, at)}@${domainToASCII(address.slice(at + 1)) || address.slice(at + 1)}`;
}

function displayName(name: string): string {
  if (!isPlainText(name)) return encodeWords(name, 'B', 52);
  // RFC 5322 atext and spaces go as they are; anything else in a quoted string.
  return /^[\w !#$%&'*+\-/=?^`{|}~]*$/.test(name) ? name : `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

/** A header line (or lines), folded at 76 characters; line breaks in the value cannot start a new header. */
function header(name: string, value: string): string {
  return foldLines(`${name}: ${value.replace(/[\r\n]+/g, ' ')}`, 76);
}

function part(type: string, content: string, boundary: string): string {
  return (
    `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
    `${wrap(base64(Buffer.from(content, 'utf8')), 76)}\r\n`
  );
}

export function buildMime(m: MimeMessage): Buffer {
  // Base64 lines never hold a '_' or a '-', so the boundary cannot occur in the parts.
  const boundary = `--_PolicyPush_${m.messageId.replace(/[^A-Za-z0-9]/g, '')}`;
  const subject = isPlainText(m.subject) ? m.subject : encodeWords(m.subject, 'B', 52);
  const lines = [
    header('From', m.from),
    header('To', asciiAddress(m.to)),
    header('Subject', subject),
    header('Message-ID', m.messageId),
    header('Date', (m.date ?? new Date()).toUTCString().replace(/GMT/, '+0000')),
    ...Object.entries(m.headers).map(([name, value]) => header(name, value)),
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    part('text/plain', m.text, boundary) + part('text/html', m.html, boundary) + `--${boundary}--\r\n`,
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
