import { createHmac, timingSafeEqual } from 'node:crypto';

// Signed links (one-click unsubscribe, WeChat binding, preferences): the payload names what the
// token is for and whom, and when it stops working; the HMAC makes it unforgeable. A token for
// one purpose or contact can never be used for another.
export interface TokenPayload {
  /** What the token may do, e.g. 'unsubscribe', 'bind-wechat'. */
  p: string;
  /** The subject, e.g. a delivery or contact id. */
  s: string;
  /** Expiry, seconds since the epoch. */
  e: number;
}

const mac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('base64url');

export function signToken(secret: string, purpose: string, subject: string, expiresAt: Date): string {
  const body = Buffer.from(JSON.stringify({ p: purpose, s: subject, e: Math.floor(expiresAt.getTime() / 1000) })).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

/** The subject when the token is authentic, for this purpose and not expired; otherwise null. */
export function verifyToken(secret: string, purpose: string, token: string, now = new Date()): string | null {
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) return null;
  const expected = Buffer.from(mac(secret, body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let payload: TokenPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (payload.p !== purpose || typeof payload.s !== 'string' || typeof payload.e !== 'number') return null;
  return payload.e * 1000 > now.getTime() ? payload.s : null;
}
