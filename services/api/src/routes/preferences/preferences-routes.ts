// The contact's pages behind signed links, without an account (issue "Subscriptions and policy
// lifecycle": Preferences page, Consent):
//   GET  /p/<token>  the preferences page and inbox        (token purpose 'preferences', 30 days)
//   POST /p/<token>  update-subscription | unsubscribe-all | resubscribe-channel | set-reminders |
//                    read-policy (the inbox: marks the policy read, which counts as engagement, and
//                    redirects to it)
//   GET  /c/<token>  confirms the contact's email address  (token purpose 'confirm-email', 7 days)
// Links are built by packages/core/src/links.ts. The token is checked before anything is read or
// written; a forged, expired or other-purpose token gets a 400 page.
import formbody from '@fastify/formbody';
import { contactIdFromPreferencesToken, CHANNELS } from '@policy-push/core';
import { getPreferencesContact, markPolicyRead } from '@policy-push/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { pageSecurityHeaders, replyWithPage } from '../../plugins/page-headers';
import { ApiError, notFound } from '../../errors';
import { ID_PATTERN } from '../../schemas/common';
import { auditedWrite, recipient } from '../../services/audit';
import { contactGonePage, emailConfirmedPage, invalidLinkPage, type Notice, preferencesPage } from './preferences-pages';
import {
  actionOf,
  applyAction,
  confirmEmail,
  loadPreferences,
  type PreferencesForm,
  problemNotice,
  readPolicyMissing,
} from './preferences-service';

const tags = ['preferences'];

// A signed token is about 110 characters, more than the router's default limit for a `:param`
// (100), so the token is the wildcard, which has no such limit.
const TokenParams = Type.Object(
  { '*': Type.String({ maxLength: 1024, description: 'the signed token' }) },
  { additionalProperties: false },
);

const OneOrMore = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Union([item, Type.Array(item, { maxItems: 1000 })]);
const FormBody = Type.Object(
  {
    action: Type.Union([
      Type.Literal('update-subscription'),
      Type.Literal('unsubscribe-all'),
      Type.Literal('resubscribe-channel'),
      Type.Literal('read-policy'),
      Type.Literal('set-reminders'),
    ]),
    reminders: Type.Optional(
      Type.Union([Type.Literal('on'), Type.Literal('off')], { description: 'set-reminders: follow-up reminders on or off' }),
    ),
    subscriptionId: Type.Optional(Type.String({ pattern: ID_PATTERN })),
    policyId: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'read-policy: the policy opened in the inbox' })),
    categoryId: Type.Optional(OneOrMore(Type.String({ pattern: ID_PATTERN }))),
    // '' is the page's "—": no channel in that place.
    channel: Type.Optional(OneOrMore(Type.Union([Type.Literal(''), ...CHANNELS.map((channel) => Type.Literal(channel))]))),
    frequency: Type.Optional(Type.Union([Type.Literal('immediate'), Type.Literal('daily'), Type.Literal('weekly')])),
  },
  { additionalProperties: false, description: 'application/x-www-form-urlencoded; repeat categoryId and channel for several' },
);

const html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });
const pageResponses = {
  200: html('the page'),
  303: { description: 'read-policy: marked read, on to the policy’s page', type: 'null' },
  400: html('invalid, expired or other-purpose link; or a form the page cannot have sent'),
  404: html('the contact, or the subscription, is not there'),
  422: html('the change is not acceptable (no category left, an unknown category)'),
};

// The URL holds the token, which is a credential: request logs name the route, never the URL.
const logSerializers = {
  req: (req: FastifyRequest) => ({ method: req.method, url: req.routeOptions.url, remoteAddress: req.ip }),
};

export default async function preferencesRoutes(app: AppInstance) {
  // Form bodies are parsed in this plugin's scope only; the rest of the API speaks JSON.
  await app.register(formbody);
  await pageSecurityHeaders(app);
  const { db } = app.deps.db;
  const secret = app.deps.signingSecret;

  /** The page for this token, with a notice on top; or the page that says why there is none. */
  async function renderFor(reply: FastifyReply, contactId: number, status: number, notice?: Notice) {
    const view = await loadPreferences(db, contactId, { requireConfirmedEmail: app.deps.config.dispatcher.requireConfirmedEmail });
    if (!view) return replyWithPage(reply, contactGonePage(), 404);
    return replyWithPage(reply, preferencesPage(view, notice), status);
  }

  app.get(
    '/p/*',
    { logSerializers, schema: { tags, summary: 'The preferences page and inbox', params: TokenParams, response: pageResponses } },
    async (req, reply) => {
      const contactId = contactIdFromPreferencesToken(secret, req.params['*']);
      if (contactId === null) {
        req.log.warn({ link: 'preferences' }, 'signed link refused: invalid or expired token');
        return replyWithPage(reply, invalidLinkPage(), 400);
      }
      return renderFor(reply, contactId, 200);
    },
  );

  app.post(
    '/p/*',
    {
      logSerializers,
      // A bad form is answered with the page (and a 400), not the API's JSON: the token is checked first.
      attachValidation: true,
      schema: { tags, summary: 'Change preferences from the page', params: TokenParams, body: FormBody, response: pageResponses },
    },
    async (req, reply) => {
      const contactId = contactIdFromPreferencesToken(secret, req.params['*']);
      if (contactId === null) {
        req.log.warn({ link: 'preferences' }, 'signed link refused: invalid or expired token');
        return replyWithPage(reply, invalidLinkPage(), 400);
      }
      const contact = await getPreferencesContact(db, contactId);
      if (!contact) return replyWithPage(reply, contactGonePage(), 404);
      const form = req.body as PreferencesForm | undefined;
      if (!req.validationError && form?.action === 'read-policy') {
        if (!form.policyId) return renderFor(reply, contactId, 400, problemNotice(readPolicyMissing()));
        const policyId = Number(form.policyId);
        // Opened in the inbox: read, and the enterprise engaged (audited as the recipient, once).
        const read = await auditedWrite(
          db,
          recipient(req.ip),
          (tx) => markPolicyRead(tx, { contactId: contact.id, enterpriseId: contact.enterpriseId, policyId, at: new Date() }),
          (r) =>
            r.outcome === 'read'
              ? { action: 'contact.policy_read', subjectType: 'contact', subjectId: contact.id, details: { policyId: String(policyId) } }
              : null,
        );
        if (read.outcome === 'not_in_inbox') return renderFor(reply, contactId, 404, problemNotice(notFound('policy')));
        if (read.url && /^https?:\/\//i.test(read.url.trim())) {
          return reply
            .code(303)
            .header('cache-control', 'no-store')
            .header('referrer-policy', 'no-referrer')
            .redirect(read.url.trim(), 303);
        }
        return renderFor(reply, contactId, 200, { kind: 'done', text: { zh: '已标记为已读。', en: 'Marked as read.' } });
      }
      let notice: Notice;
      let status = 200;
      try {
        if (req.validationError) throw new ApiError(400, 'invalid_form', req.validationError.message);
        const action = actionOf(req.body as PreferencesForm);
        // The recipient's own change, audited as theirs in the same transaction.
        notice = await auditedWrite(
          db,
          recipient(req.ip),
          (tx) => applyAction(tx, contact, action),
          () => ({
            action: 'contact.preferences',
            subjectType: 'contact',
            subjectId: contact.id,
            details:
              'subscriptionId' in action
                ? { change: action.action, subscriptionId: String(action.subscriptionId) }
                : { change: action.action },
          }),
        );
      } catch (err) {
        if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
        // Refused before anything was written: the page shows the state as it is, and why.
        notice = problemNotice(err);
        status = err.statusCode;
      }
      return renderFor(reply, contactId, status, notice);
    },
  );

  app.get(
    '/c/*',
    {
      logSerializers,
      schema: {
        tags,
        summary: 'Confirms an email address',
        params: TokenParams,
        response: {
          200: html('confirmed'),
          400: html('invalid or expired link, or the address changed since'),
          404: html('the contact is gone'),
        },
      },
    },
    async (req, reply) => {
      const result = await auditedWrite(
        db,
        recipient(req.ip),
        (tx) => confirmEmail(tx, secret, req.params['*']),
        (r) =>
          r.outcome === 'confirmed' && r.justNow
            ? { action: 'contact.email_confirmed', subjectType: 'contact', subjectId: r.contactId }
            : null,
      );
      if (result.outcome === 'invalid') {
        req.log.warn({ link: 'confirm-email' }, 'signed link refused: invalid or expired token, or the address changed');
        return replyWithPage(reply, invalidLinkPage(), 400);
      }
      if (result.outcome === 'gone') return replyWithPage(reply, contactGonePage(), 404);
      return replyWithPage(reply, emailConfirmedPage(result.at, result.justNow));
    },
  );
}
