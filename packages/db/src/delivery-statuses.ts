import { type SQL, sql } from 'drizzle-orm';

// The delivery statuses, in one list, and the named sets every query, schema and page uses
// (ARCHITECTURE.md "Delivery states"). A status written out by hand elsewhere is a second copy.
export const DELIVERY_STATUSES = [
  'pending',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'cancelled',
  'suppressed',
  'held',
  'digested',
  'merged',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Still to go out: waiting (pending, held for a digest) or being sent. */
export const LIVE_STATUSES = ['pending', 'sending', 'held'] as const satisfies readonly DeliveryStatus[];
/**
 * Never moves again. A merged delivery (carried by another to the same address) and a digested one
 * (folded into a digest) end here themselves: their fate is their carrier's.
 */
export const TERMINAL_STATUSES = [
  'delivered',
  'undelivered',
  'failed',
  'cancelled',
  'suppressed',
  'digested',
  'merged',
] as const satisfies readonly DeliveryStatus[];
/** Its message went out: a provider accepted it (sent) or confirmed it (delivered). */
export const REACHED_STATUSES = ['sent', 'delivered'] as const satisfies readonly DeliveryStatus[];
/** Its message did not get there: refused or given up (failed), or reported undelivered. */
export const FAILED_STATUSES = ['failed', 'undelivered'] as const satisfies readonly DeliveryStatus[];
/** Not sent and never will be: withdrawn, or the contact cannot be reached on the channel. */
export const DROPPED_STATUSES = ['cancelled', 'suppressed'] as const satisfies readonly DeliveryStatus[];

/** `in ('a', 'b')` for a named set, in SQL (the sets are constants above, never input). */
export const inStatuses = (set: readonly DeliveryStatus[]): SQL =>
  sql.raw(`in (${set.map((s) => `'${s}'`).join(', ')})`);
