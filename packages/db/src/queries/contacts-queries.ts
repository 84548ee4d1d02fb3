import { and, asc, eq, gt } from 'drizzle-orm';
import type { Queryable } from '../create-db';
import { contacts } from '../schema';

export type Contact = typeof contacts.$inferSelect;
export type NewContact = typeof contacts.$inferInsert;

export const getContact = async (db: Queryable, id: number): Promise<Contact | undefined> =>
  (await db.select().from(contacts).where(eq(contacts.id, id)))[0];

/** The row, locked until the transaction ends: a partial update merges into what it read. */
export const getContactForUpdate = async (db: Queryable, id: number): Promise<Contact | undefined> =>
  (await db.select().from(contacts).where(eq(contacts.id, id)).for('update'))[0];

export const listContacts = (db: Queryable, enterpriseId: number, p: { after?: number; limit: number }) =>
  db
    .select()
    .from(contacts)
    .where(and(eq(contacts.enterpriseId, enterpriseId), p.after ? gt(contacts.id, p.after) : undefined))
    .orderBy(asc(contacts.id))
    .limit(p.limit + 1);

export const insertContact = async (db: Queryable, values: NewContact) => (await db.insert(contacts).values(values).returning())[0];

export const updateContact = async (db: Queryable, id: number, values: Partial<NewContact>) =>
  (
    await db
      .update(contacts)
      .set({ ...values, updatedAt: new Date() })
      .where(eq(contacts.id, id))
      .returning()
  )[0];

export const deleteContact = async (db: Queryable, id: number) =>
  (await db.delete(contacts).where(eq(contacts.id, id)).returning({ id: contacts.id }))[0];
