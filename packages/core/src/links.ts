// The contact's own signed links, built where messages are made (the dispatcher) and checked where
// they land (the API's preferences and confirmation pages). Both sides use these functions, so the
// purpose, the lifetime and the shape of the subject are agreed in one place.
import { createHash } from 'node:crypto';
import { signToken, verifyToken } from './signed-token';
import { DAY_MS } from './shanghai-day';

// Every purpose the signing secret signs for, in one list: a token or MAC made for one purpose
// never checks out for another, so a new purpose must take a name not listed here.
export const SIGNED_PURPOSES = [
  'preferences',
  'confirm-email',
  'open',
  'unsubscribe',
  'ops-session',
  'ops-csrf',
  'wechat-binding',
] as const;
export type SignedPurpose = (typeof SIGNED_PURPOSES)[number];

export const PREFERENCES_PURPOSE = 'preferences' satisfies SignedPurpose;
export const CONFIRM_EMAIL_PURPOSE = 'confirm-email' satisfies SignedPurpose;
export const OPEN_PURPOSE = 'open' satisfies SignedPurpose;
export const UNSUBSCRIBE_PURPOSE = 'unsubscribe' satisfies SignedPurpose;
/** The ops console's session cookie (services/api routes/ops/ops-session.ts). */
export const OPS_SESSION_PURPOSE = 'ops-session' satisfies SignedPurpose;
/** The ops console's CSRF token, a MAC of the session (ops-session.ts). */
export const OPS_CSRF_PURPOSE = 'ops-csrf' satisfies SignedPurpose;
/** The WeChat binding scene, a short MAC of its own form (packages/channels wechat/binding-scene.ts). */
export const WECHAT_BINDING_PURPOSE = 'wechat-binding' satisfies SignedPurpose;

/** A preferences link rides in every message: it works for a month, long enough to find an old one. */
export const PREFERENCES_LINK_DAYS = 30;
/** A confirmation link is answered soon or not at all. */
export const CONFIRM_EMAIL_LINK_DAYS = 7;

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

// The open link (`/r/<token>`): every link in a message goes through it, so the service learns that
// the message was opened (awareness, 知曉度) without a tracker or a pixel, then redirects to the
// policy or its interpretation. It rides in SMS, where characters cost, so the delivery id is
// signed in base 36 (a billion is 6 characters); and it must keep working as long as an old
// message is kept, so it lasts as long as the unsubscribe link beside it.
export const OPEN_LINK_DAYS = 400;
// Base 36 of a positive id up to 15 decimal digits (the API's id range): at most 10 characters.
const BASE36_ID = /^[1-9a-z][0-9a-z]{0,9}$/;

/** `${publicBaseUrl}/r/<token>`: the delivery's link to its policy, for 400 days from `now`. */
export function openLink(publicBaseUrl: string, signingSecret: string, deliveryId: number | string, now: Date): string {
  const subject = Number(deliveryId).toString(36);
  return `${base(publicBaseUrl)}/r/${signToken(signingSecret, OPEN_PURPOSE, subject, daysAfter(now, OPEN_LINK_DAYS))}`;
}

/** The delivery id an authentic, unexpired open token names; null for anything else. */
export function deliveryIdFromOpenToken(signingSecret: string, token: string, now: Date = new Date()): number | null {
  const subject = verifyToken(signingSecret, OPEN_PURPOSE, token, now);
  if (!subject || !BASE36_ID.test(subject)) return null;
  const id = parseInt(subject, 36);
  return Number.isSafeInteger(id) && id <= 999_999_999_999_999 ? id : null;
}

// The one-click unsubscribe link (`/u/<token>`, RFC 8058): in every email and every SMS, whatever
// the language, because Twilio carries no replies from +86 numbers. It must outlive any message.
export const UNSUBSCRIBE_LINK_DAYS = 400;

/** `${publicBaseUrl}/u/<token>`: opts the contact out of the channel this delivery came by. */
export function unsubscribeLink(publicBaseUrl: string, signingSecret: string, deliveryId: number | string, now: Date): string {
  return `${base(publicBaseUrl)}/u/${signToken(signingSecret, UNSUBSCRIBE_PURPOSE, String(deliveryId), daysAfter(now, UNSUBSCRIBE_LINK_DAYS))}`;
}

/** The links one delivery's message carries: its policy (through /r/), unsubscribe and preferences. */
export interface MessageLinks {
  policy: string;
  unsubscribe: string;
  preferences: string;
}

/**
 * Every signed link of one delivery's message, as the dispatcher writes them. A preview passes a
 * throwaway secret: the same shapes and lengths (so the SMS segment count is the real one), tokens
 * that open nothing.
 */
export function messageLinks(
  publicBaseUrl: string,
  signingSecret: string,
  d: { deliveryId: number | string; contactId: number | string },
  now: Date,
): MessageLinks {
  return {
    policy: openLink(publicBaseUrl, signingSecret, d.deliveryId, now),
    unsubscribe: unsubscribeLink(publicBaseUrl, signingSecret, d.deliveryId, now),
    preferences: preferencesLink(publicBaseUrl, signingSecret, d.contactId, now),
  };
}

// A signed token in one of this service's link paths: /r/ open, /u/ unsubscribe, /p/ preferences,
// /c/ email confirmation (`<subject>.<expiry>.<22-character mac>`, signed-token.ts).
const LINK_TOKEN = /\/([rupc])\/[A-Za-z0-9:_-]+\.[0-9a-z]+\.[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])/g;

/**
 * A text with every signed link token replaced by '…' (`https://…/u/…`): for those who may read a
 * message but must not hold its recipient's working unsubscribe or preferences link.
 */
export function withoutLinkTokens(text: string): string {
  return text.replace(LINK_TOKEN, '/$1/…');
}
