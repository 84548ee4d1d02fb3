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
import type { AppInstance } from '../../app-instance';
import { scope } from '../../plugins/authorize';
import { ApiError, invalidField, notFound } from '../../errors';
import { actorOf, audit, auditedWrite, fieldsOf } from '../../services/audit';
import { errorResponses, IdParams, iso, Page, page } from '../../schemas/common';
import { Contact, ContactCreate, ContactListQuery, ContactUpdate } from './contacts-schemas';
import { changeContact, type ConsentSource, createContact } from './contacts-service';
import { eraseContact, eraseEnterprisePersonalData } from './erasure-service';

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
      config: { access: { enterprise: scope.ownEnterprise() } },
      schema: {
        tags,
        description: 'Adds a contact to the enterprise `id`; the contact is then at /v1/contacts/{contactId}.',
        params: IdParams,
        body: ContactCreate,
        response: { 201: Contact, ...errorResponses },
      },
    },
    async (req, reply) => {
      const c = await auditedWrite(
        db,
        actorOf(req),
        (tx) => createContact(tx, Number(req.params.id), req.body),
        (row) => ({
          action: 'contact.create',
          subjectType: 'contact',
          subjectId: row.id,
          details: { enterpriseId: req.params.id, ...fieldsOf(req.body) },
        }),
      );
      return reply.code(201).send(toContact(c));
    },
  );

  app.get(
    '/enterprises/:id/contacts',
    {
      config: { access: { ops: true, enterprise: scope.ownEnterprise() } },
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
    {
      config: { access: { ops: true, enterprise: scope.contactOfEnterprise() } },
      schema: { tags, description: byId, params: IdParams, response: { 200: Contact, ...errorResponses } },
    },
    async (req) => {
      const c = await getContact(db, Number(req.params.id));
      if (!c) throw notFound('contact');
      return toContact(c);
    },
  );

  app.patch(
    '/contacts/:id',
    {
      config: { access: { enterprise: scope.contactOfEnterprise() } },
      schema: { tags, description: byId, params: IdParams, body: ContactUpdate, response: { 200: Contact, ...errorResponses } },
    },
    async (req) =>
      toContact(
        await auditedWrite(
          db,
          actorOf(req),
          (tx) => changeContact(tx, Number(req.params.id), req.body),
          (row) => ({ action: 'contact.update', subjectType: 'contact', subjectId: row.id, details: fieldsOf(req.body) }),
        ),
      ),
  );

  app.delete(
    '/contacts/:id',
    {
      config: { access: { enterprise: scope.contactOfEnterprise() } },
      schema: { tags, description: byId, params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      await auditedWrite(
        db,
        actorOf(req),
        async (tx) => {
          if (!(await deleteContact(tx, id))) throw notFound('contact');
        },
        () => ({ action: 'contact.delete', subjectType: 'contact', subjectId: id }),
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/contacts/:id/email-confirmation',
    {
      config: { access: { enterprise: scope.contactOfEnterprise() } },
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
        await audit(tx, actorOf(req), {
          action: 'contact.email_confirmation',
          subjectType: 'contact',
          subjectId: contact.id,
          details: { deliveryId: String(id) },
        });
        await notifyWork(tx);
        return id;
      });
      return reply.code(202).send({ deliveryId: String(deliveryId) });
    },
  );

  // Erasure on request: admin only (no other role is granted). What goes and what stays is
  // packages/db erasure-queries.ts; the answer and the audit row carry counts, never an address.
  const Erasure = Type.Object({
    erasedContacts: Type.Integer({ description: 'contacts whose name, phone, email and openid were erased' }),
    cancelledDeliveries: Type.Integer({ description: 'their pending and held deliveries, cancelled' }),
  });
  const erasureDescription =
    'Erases personal data for good: name, phone, email and WeChat openid, and every copy of them in provider answers, receipts, ' +
    'sandbox records and address counters, archive included. The contact stays, suppressed and without addresses, so it is never ' +
    'matched again; its deliveries stay (unsent ones cancelled), so delivery counts and reach do not change. Audited. ' +
    '409 delivery_in_flight when a message to it is being sent at this moment: nothing is erased, try again a minute later.';

  app.post(
    '/contacts/:id/erase',
    {
      config: { access: {} },
      schema: {
        tags,
        summary: "Erase a contact's personal data",
        description: erasureDescription,
        params: IdParams,
        response: { 200: Erasure, ...errorResponses },
      },
    },
    async (req) => eraseContact(db, Number(req.params.id), { apiKeyId: req.apiKey.id, ip: req.ip }),
  );

  app.delete(
    '/enterprises/:id/personal-data',
    {
      config: { access: {} },
      schema: {
        tags,
        summary: 'Erase the personal data of every contact of an enterprise',
        description: erasureDescription + ' The enterprise itself (a business record) is kept.',
        params: IdParams,
        response: { 200: Erasure, ...errorResponses },
      },
    },
    async (req) => eraseEnterprisePersonalData(db, Number(req.params.id), { apiKeyId: req.apiKey.id, ip: req.ip }),
  );
}
