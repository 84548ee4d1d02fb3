// The contact's own signed links, built where messages are made (the dispatcher) and checked where
// they land (the API's preferences and confirmation pages). Both sides use these functions, so the
// purpose, the lifetime and the shape of the subject are agreed in one place.
import { createHash } from 'node:crypto';
import { signToken, verifyToken } from './signed-token';

export const PREFERENCES_PURPOSE = 'preferences';
export const CONFIRM_EMAIL_PURPOSE = 'confirm-email';
/** A preferences link rides in every message: it works for a month, long enough to find an old one. */
export const PREFERENCES_LINK_DAYS = 30;
/** A confirmation link is answered soon or not at all. */
export const CONFIRM_EMAIL_LINK_DAYS = 7;

const DAY_MS = 86_400_000;
// Contact ids are bigint identities, signed as their decimal string; 15 digits stay exact in JS.
const CONTACT_ID = /^[1-9][0-9]{0,14}$/;

const daysAfter = (now: Date, days: number) => new Date(now.getTime() + days * DAY_MS);
const base = (publicBaseUrl: string) => publicBaseUrl.replace(/\/+$/, '');

/** `${publicBaseUrl}/p/<token>`: the contact's preferences page and inbox, for 30 days from `now`. */
export function preferencesLink(publicBaseUrl: string, signingSecret: string, contactId: number | string, now: Date): string {
  const token = signToken(signingSecret, PREFERENCES_PURPOSE, String(contactId), daysAfter(now, PREFERENCES_LINK_DAYS));
  return `${base(publicBaseUrl)}/p/${token}`;
}

/** The contact id an authentic, unexpired preferences token names; null for anything else. */
export function contactIdFromPreferencesToken(signingSecret: string, token: string, now: Date = new Date()): number | null {
  const subject = verifyToken(signingSecret, PREFERENCES_PURPOSE, token, now);
  return subject && CONTACT_ID.test(subject) ? Number(subject) : null;
}

// The confirmation names the address as well as the contact: when the contact's email is changed
// after the link went out, the old link must not confirm the new address. Only a digest is signed,
// so the token (which sits in URLs and browser histories) does not carry the address itself.
const emailDigest = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 22);

/** `${publicBaseUrl}/c/<token>`: confirms that this contact receives mail at `email`; 7 days from `now`. */
export function emailConfirmationLink(
  publicBaseUrl: string,
  signingSecret: string,
  contactId: number | string,
  email: string,
  now: Date,
): string {
  const subject = `${contactId}:${emailDigest(email)}`;
  const token = signToken(signingSecret, CONFIRM_EMAIL_PURPOSE, subject, daysAfter(now, CONFIRM_EMAIL_LINK_DAYS));
  return `${base(publicBaseUrl)}/c/${token}`;
}

/** What an authentic, unexpired confirmation token names; null for anything else. */
export function emailConfirmationFromToken(
  signingSecret: string,
  token: string,
  now: Date = new Date(),
): { contactId: number; confirms(email: string | null): boolean } | null {
  const subject = verifyToken(signingSecret, CONFIRM_EMAIL_PURPOSE, token, now);
  const [id, digest, extra] = subject?.split(':') ?? [];
  if (!id || !CONTACT_ID.test(id) || !digest || extra !== undefined) return null;
  return { contactId: Number(id), confirms: (email) => email !== null && emailDigest(email) === digest };
}
