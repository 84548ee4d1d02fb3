import { and, asc, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { deliveries, deliveryAttempts, deliveryEvents } from '../schema';

export type Delivery = typeof deliveries.$inferSelect;
export type DeliveryAttempt = typeof deliveryAttempts.$inferSelect;
export type DeliveryEvent = typeof deliveryEvents.$inferSelect;

export interface DeliveryFilter {
  policyId?: number;
  enterpriseId?: number;
  contactId?: number;
  channel?: string;
  status?: string;
  from?: Date;
  to?: Date;
}

function filterSql(f: DeliveryFilter): SQL | undefined {
  return and(
    f.policyId ? eq(deliveries.policyId, f.policyId) : undefined,
    f.enterpriseId ? eq(deliveries.enterpriseId, f.enterpriseId) : undefined,
    f.contactId ? eq(deliveries.contactId, f.contactId) : undefined,
    f.channel ? eq(deliveries.channel, f.channel) : undefined,
    f.status ? eq(deliveries.status, f.status) : undefined,
    f.from ? gte(deliveries.createdAt, f.from) : undefined,
    f.to ? lt(deliveries.createdAt, f.to) : undefined,
  );
}

/** Newest first. */
export const listDeliveries = (db: Queryable, f: DeliveryFilter, p: { before?: number; limit: number }) =>
  db
    .select()
    .from(deliveries)
    .where(and(filterSql(f), p.before ? lt(deliveries.id, p.before) : undefined))
    .orderBy(desc(deliveries.id))
    .limit(p.limit + 1);

export async function getDeliveryWithHistory(
  db: Queryable,
  id: number,
): Promise<{ delivery: Delivery; attempts: DeliveryAttempt[]; events: DeliveryEvent[] } | undefined> {
  const [delivery] = await db.select().from(deliveries).where(eq(deliveries.id, id));
  if (!delivery) return undefined;
  const attempts = await db.select().from(deliveryAttempts).where(eq(deliveryAttempts.deliveryId, id)).orderBy(asc(deliveryAttempts.id));
  const events = await db.select().from(deliveryEvents).where(eq(deliveryEvents.deliveryId, id)).orderBy(asc(deliveryEvents.occurredAt));
  return { delivery, attempts, events };
}
