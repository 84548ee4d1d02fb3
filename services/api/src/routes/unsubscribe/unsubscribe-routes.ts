// The one-click unsubscribe link, `/u/<token>` (RFC 8058, CHANNELS.md "Email"). GET only shows a
// confirmation page: mail scanners and link previews fetch URLs, and a fetch must never
// unsubscribe anyone. POST with `List-Unsubscribe=One-Click` (what a mail client sends for the
// List-Unsubscribe-Post header, and what the page's button sends) does it, with no cookie and no
// login: the signed token is the credential.
import formbody from '@fastify/formbody';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { pageSecurityHeaders, replyWithPage } from '../../plugins/page-headers';
import { ApiError } from '../../errors';
import { ErrorResponse } from '../../schemas/common';
import { auditedWrite, recipient } from '../../services/audit';
import { confirmPage, invalidLinkPage, unknownMessagePage, unsubscribedPage } from './unsubscribe-pages';
import { deliveryIdFromToken, linkRecipient, unsubscribeByLink } from './unsubscribe-service';

const tags = ['unsubscribe'];
export const FORM_LIMIT = 4096; // the body is one short field

// A wildcard, not `/u/:token`: Fastify refuses path parameters over 100 characters
// (maxParamLength) with a 414, and a signed token is longer than that.
const LINK_PATH = '/u/*';
const Params = Type.Object({ '*': Type.String({ description: 'the signed token from the link' }) });
// RFC 8058 §3.1: the body is the List-Unsubscribe-Post value. Other fields are ignored, not refused:
// a mail provider's POST should not fail over an extra field.
const OneClickBody = Type.Object(
  { 'List-Unsubscribe': Type.Literal('One-Click') },
  { additionalProperties: true, description: 'List-Unsubscribe=One-Click (RFC 8058)' },
);
const Html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });
const HtmlOrError = (description: string) => ({
  description,
  content: { 'text/html': { schema: Type.String() }, 'application/json': { schema: ErrorResponse } },
});

// Request logs show the route, never the token (a token in a log is a working unsubscribe link).
const logSerializers = { req: (req: FastifyRequest) => ({ method: req.method, url: '/u/[token]' }) };

export default async function unsubscribeRoutes(app: AppInstance) {
  const { db, signingSecret } = app.deps;

  // Form bodies in this plugin's scope only; the rest of the API speaks JSON. RFC 8058 says
  // mail providers SHOULD post multipart/form-data and MAY post urlencoded: both are read.
  await app.register(formbody, { bodyLimit: FORM_LIMIT });
  await pageSecurityHeaders(app);
  app.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'buffer', bodyLimit: FORM_LIMIT },
    async (req: FastifyRequest, body: Buffer) => {
      // The platform's own multipart parser (undici, behind Response.formData()).
      try {
        const form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
        return Object.fromEntries([...form.entries()].filter(([, v]) => typeof v === 'string'));
      } catch {
        throw new ApiError(400, 'invalid_form', 'the multipart/form-data body could not be read');
      }
    },
  );

  app.get(
    LINK_PATH,
    {
      logSerializers,
      schema: {
        tags,
        description: 'The confirmation page of a signed unsubscribe link (zh-Hans, English below). Changes nothing.',
        params: Params,
        produces: ['text/html'],
        response: {
          200: Html('confirmation page with the one-click form'),
          400: Html('invalid or expired link'),
          404: Html('the delivery no longer exists'),
        },
      },
    },
    async (req, reply) => {
      const deliveryId = deliveryIdFromToken(signingSecret, req.params['*']);
      if (deliveryId === null) {
        req.log.warn({ link: 'unsubscribe' }, 'signed link refused: invalid or expired token');
        return replyWithPage(reply, invalidLinkPage(), 400);
      }
      const recipient = await linkRecipient(db.db, deliveryId);
      if (!recipient) return replyWithPage(reply, unknownMessagePage(), 404);
      return replyWithPage(reply, confirmPage(recipient.channel));
    },
  );

  app.post(
    LINK_PATH,
    {
      logSerializers,
      schema: {
        tags,
        description:
          'One-click unsubscribe (RFC 8058): opts the contact out of the channel this message came by, and records an `unsubscribed` event. No cookie or login: the signed token is the credential. Repeating it is harmless.',
        params: Params,
        consumes: ['application/x-www-form-urlencoded', 'multipart/form-data'],
        produces: ['text/html'],
        body: OneClickBody,
        response: {
          200: Html('unsubscribed (also when it already was)'),
          400: HtmlOrError('invalid or expired link, or a body without List-Unsubscribe=One-Click'),
          404: Html('the delivery no longer exists'),
        },
      },
    },
    async (req, reply) => {
      const deliveryId = deliveryIdFromToken(signingSecret, req.params['*']);
      if (deliveryId === null) {
        req.log.warn({ link: 'unsubscribe' }, 'signed link refused: invalid or expired token');
        return replyWithPage(reply, invalidLinkPage(), 400);
      }
      // The recipient's own act, audited as theirs in the same transaction; a repeat changes nothing and is not.
      const done = await auditedWrite(
        db.db,
        recipient(req.ip),
        (tx) => unsubscribeByLink(tx, deliveryId),
        (r) =>
          r?.changed
            ? {
                action: 'contact.unsubscribe',
                subjectType: 'contact',
                subjectId: r.contactId,
                details: { deliveryId: String(deliveryId), channel: r.channel },
              }
            : null,
      );
      if (!done) return replyWithPage(reply, unknownMessagePage(), 404);
      if (done.changed) req.log.info({ deliveryId, channel: done.channel }, 'unsubscribed by signed link');
      return replyWithPage(reply, unsubscribedPage(done.channel));
    },
  );
}
