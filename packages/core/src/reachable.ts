// "Is this contact reachable on channel X", defined once (CONVENTIONS.md habit 13). Matching,
// fan-out, fallbacks, the send itself, previews, group audiences and the preferences page all ask
// it; the SQL twin is packages/db/src/queries/reachable-sql.ts, and a test holds the two equal over
// every combination of a contact's state.
//
// A contact is reachable on a channel when it has an address there, is neither suppressed nor
// opted out of the channel, and — where the deployment requires confirmed email
// (REQUIRE_CONFIRMED_EMAIL) — its email address was confirmed by its link.
import type { Channel } from './channels';

/** What the rule reads of a contact. */
export interface ReachableContact {
  phone: string | null;
  email: string | null;
  wechatOpenid: string | null;
  optedOut: readonly string[];
  suppressed: boolean;
  /** Null while the email address is unconfirmed. */
  emailConfirmedAt?: Date | string | null;
}

/** The deployment's side of the rule. */
export interface ReachabilityRule {
  /** Email only to addresses confirmed by their link. */
  requireConfirmedEmail: boolean;
}

/**
 * Why a contact cannot be reached on a channel, first failing check first. An enterprise with no
 * contact at all is `no_contact` (see UNADDRESSABLE_REASONS); suppressed contacts count as opted out.
 */
export const UNREACHABLE_REASONS = ['no_address', 'opted_out', 'email_unconfirmed'] as const;
export type UnreachableReason = (typeof UNREACHABLE_REASONS)[number];

/**
 * Why a matched enterprise got no delivery at all: no contact, or the reason of the contact and
 * channel (of those it accepts) that came closest to reachable. Listed from the furthest to the
 * closest: an enterprise's reason is the last of these that any of its contact–channel pairs has.
 */
export const UNADDRESSABLE_REASONS = ['no_contact', 'no_address', 'opted_out', 'email_unconfirmed'] as const;
export type UnaddressableReason = (typeof UNADDRESSABLE_REASONS)[number];

/** The contact's address on the channel, or null. */
export function addressOn(contact: Pick<ReachableContact, 'phone' | 'email' | 'wechatOpenid'>, channel: string): string | null {
  if (channel === 'wechat') return contact.wechatOpenid;
  if (channel === 'sms') return contact.phone;
  if (channel === 'email') return contact.email;
  return null;
}

/** Null when the contact is reachable on the channel; otherwise why not. */
export function whyUnreachable(contact: ReachableContact, channel: string, rule: ReachabilityRule): UnreachableReason | null {
  if (!addressOn(contact, channel)) return 'no_address';
  if (contact.suppressed || contact.optedOut.includes(channel)) return 'opted_out';
  if (channel === 'email' && rule.requireConfirmedEmail && !contact.emailConfirmedAt) return 'email_unconfirmed';
  return null;
}

export const isReachable = (contact: ReachableContact, channel: string, rule: ReachabilityRule): boolean =>
  whyUnreachable(contact, channel, rule) === null;

/** `order` without the channels the contact cannot be reached on, each channel once. */
export function reachableChannels<C extends Channel>(contact: ReachableContact, order: readonly C[], rule: ReachabilityRule): C[] {
  return [...new Set(order.filter((ch) => isReachable(contact, ch, rule)))];
}
