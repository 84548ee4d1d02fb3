// The signed one-click unsubscribe link: `${PUBLIC_BASE_URL}/u/<token>`, where the token is
// unsubscribeLink (core links.ts) as the dispatcher writes it into
// every message (email List-Unsubscribe and body, SMS). The token is the only credential (RFC 8058:
// no cookie, no login), so nothing is read or written before it checks out.
import { UNSUBSCRIBE_PURPOSE, verifyToken } from '@policy-push/core';
import { type Database, type DeliveryRecipient, getDeliveryRecipient, optOutContact, recordUnsubscribedEvent } from '@policy-push/db';

// Delivery ids are bigint identities, signed as their decimal string; 15 digits stay exact in JS.
const DELIVERY_ID = /^[1-9][0-9]{0,14}$/;

/** The delivery id an authentic, unexpired unsubscribe token names; null for anything else. */
export function deliveryIdFromToken(signingSecret: string, token: string, now = new Date()): number | null {
  const subject = verifyToken(signingSecret, UNSUBSCRIBE_PURPOSE, token, now);
  return subject && DELIVERY_ID.test(subject) ? Number(subject) : null;
}

/** Who the link would unsubscribe, for the confirmation page; reads only. */
export function linkRecipient(db: Database, deliveryId: number): Promise<DeliveryRecipient | null> {
  return getDeliveryRecipient(db, deliveryId);
}

/**
 * Opts the delivery's contact out of the delivery's channel (that one only) and records the
 * `unsubscribed` event, in one transaction. Idempotent: a repeat finds both done and changes
 * nothing. Null for an unknown delivery.
 */
export async function unsubscribeByLink(db: Database, deliveryId: number): Promise<(DeliveryRecipient & { changed: boolean }) | null> {
  return db.transaction(async (tx) => {
    const recipient = await getDeliveryRecipient(tx, deliveryId, { lock: true });
    if (!recipient) return null;
    const optedOut = await optOutContact(tx, recipient.contactId, recipient.channel);
    const recorded = await recordUnsubscribedEvent(tx, { deliveryId, channel: recipient.channel, payload: { via: 'signed-link' } });
    return { ...recipient, changed: optedOut || recorded };
  });
}
