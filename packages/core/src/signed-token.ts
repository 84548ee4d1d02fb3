import { createHmac, timingSafeEqual } from 'node:crypto';

// Signed links (one-click unsubscribe, preferences, binding): a token names its subject (a
// delivery or contact id) and its expiry, and carries an HMAC over those and its purpose, so it
// cannot be forged, outlive its expiry, or serve another purpose or subject. Compact on purpose:
// it goes into SMS, where every character costs (`<subject>.<expiry, base36>.<128-bit MAC>`).
const MAC_LENGTH = 22;

const mac = (secret: string, purpose: string, body: string) =>
  createHmac('sha256', secret).update(`${purpose}|${body}`).digest('base64url').slice(0, MAC_LENGTH);

export function signToken(secret: string, purpose: string, subject: string, expiresAt: Date): string {
  if (!/^[A-Za-z0-9:_-]+$/.test(subject)) throw new Error('a token subject is letters, digits, : _ or -');
  const body = `${subject}.${Math.floor(expiresAt.getTime() / 1000).toString(36)}`;
  return `${body}.${mac(secret, purpose, body)}`;
}

/** The subject when the token is authentic, for this purpose and not expired; otherwise null. */
export function verifyToken(secret: string, purpose: string, token: string, now = new Date()): string | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [subject, expiry, signature] = parts;
  const expected = Buffer.from(mac(secret, purpose, `${subject}.${expiry}`));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const expiresAt = parseInt(expiry, 36) * 1000;
  return Number.isFinite(expiresAt) && expiresAt > now.getTime() ? subject : null;
}

// A token as signToken makes it, anywhere in a text: a subject, a base-36 expiry and the MAC.
const SIGNED_TOKEN = /(?<![A-Za-z0-9:_.-])([A-Za-z0-9:_-]+\.[0-9a-z]{1,12}\.)[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])/g;

/**
 * The text with the MAC of every signed token in it starred out, so a link shown to someone who
 * must not use it (an operator reading a recipient's message) keeps its shape and length but opens
 * nothing.
 */
export const redactSignedTokens = (text: string) => text.replace(SIGNED_TOKEN, (_m, head: string) => `${head}${'*'.repeat(MAC_LENGTH)}`);
