import {
  type Contact as ContactRow,
  deleteContact,
  getContact,
  getEnterprise,
  listContacts,
  notifyWork,
  queueEmailConfirmation,
} from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app';
import { ApiError, invalidField, notFound } from '../../errors';
import { errorResponses, IdParams, iso, Page, page } from '../../schemas/common';
import { Contact, ContactCreate, ContactListQuery, ContactUpdate } from './contacts-schemas';
import { changeContact, type ConsentSource, createContact } from './contacts-service';

const tags = ['contacts'];

export const toContact = (c: ContactRow) => ({
  id: String(c.id),
  enterpriseId: String(c.enterpriseId),
  name: c.name,
  phone: c.phone,
  email: c.email,
  wechatOpenid: c.wechatOpenid,
  locale: c.locale,
  channels: c.channels,
  optedOut: c.optedOut,
  suppressed: c.suppressed,
  consent: { source: c.consentSource as ConsentSource, at: c.consentAt.toISOString() },
  emailConfirmedAt: iso(c.emailConfirmedAt),
  quietHours: c.quietHours,
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

export default async function contactsRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.post(
    '/enterprises/:id/contacts',
    {
      schema: {
        tags,
        description: 'Adds a contact to the enterprise `id`; the contact is then at /v1/contacts/{contactId}.',
        params: IdParams,
        body: ContactCreate,
        response: { 201: Contact, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(toContact(await createContact(db, Number(req.params.id), req.body))),
  );

  app.get(
    '/enterprises/:id/contacts',
    {
      schema: {
        tags,
        description: 'The contacts of the enterprise `id`, ordered by id.',
        params: IdParams,
        querystring: ContactListQuery,
        response: { 200: Page(Contact), ...errorResponses },
      },
    },
    async (req) => {
      const enterpriseId = Number(req.params.id);
      if (!(await getEnterprise(db, enterpriseId))) throw notFound('enterprise');
      const limit = req.query.limit ?? 50;
      return page(await listContacts(db, enterpriseId, { after: Number(req.query.cursor ?? 0), limit }), limit, toContact);
    },
  );

  // Once created, a contact is addressed by its own id.
  const byId = 'A contact by its id; contacts are created and listed under /v1/enterprises/{id}/contacts.';

  app.get(
    '/contacts/:id',
    { schema: { tags, description: byId, params: IdParams, response: { 200: Contact, ...errorResponses } } },
    async (req) => {
      const c = await getContact(db, Number(req.params.id));
      if (!c) throw notFound('contact');
      return toContact(c);
    },
  );

  app.patch(
    '/contacts/:id',
    { schema: { tags, description: byId, params: IdParams, body: ContactUpdate, response: { 200: Contact, ...errorResponses } } },
    async (req) => toContact(await changeContact(db, Number(req.params.id), req.body)),
  );

  app.delete(
    '/contacts/:id',
    { schema: { tags, description: byId, params: IdParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (req, reply) => {
      if (!(await deleteContact(db, Number(req.params.id)))) throw notFound('contact');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/contacts/:id/email-confirmation',
    {
      schema: {
        tags,
        summary: 'Send the contact a link that confirms its email address (needed for bulk email where REQUIRE_CONFIRMED_EMAIL is set)',
        params: IdParams,
        response: { 202: Type.Object({ deliveryId: Type.String() }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const contact = await getContact(db, Number(req.params.id));
      if (!contact) throw notFound('contact');
      if (!contact.email) throw invalidField('email', 'no_email', 'the contact has no email address');
      if (contact.emailConfirmedAt) throw new ApiError(409, 'already_confirmed', 'the email address is confirmed already');
      const deliveryId = await db.transaction(async (tx) => {
        const id = await queueEmailConfirmation(tx, contact.id, contact.enterpriseId);
        await notifyWork(tx);
        return id;
      });
      return reply.code(202).send({ deliveryId: String(deliveryId) });
    },
  );
}
