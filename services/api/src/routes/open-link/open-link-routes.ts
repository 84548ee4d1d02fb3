// The open link, `/r/<token>` (issue 5, "Engagement"): every link in every message goes through it
// (packages/core/src/links.ts openLink, used by the dispatcher). A click records the delivery's
// first and last open (and one `opened` event), which is what awareness (知曉度) counts, then
// redirects to the policy, or with `?to=interpretation` to its first interpretation (解讀) page.
// A digest's link leads to the contact's inbox. No tracker, no pixel, nothing from a third party.
//
// The token is checked before anything is read or written: a forged or expired one gets a 400
// page. Machines (a HEAD, a mail scanner's user agent, an open within a minute of the send:
// core/engagement.ts machineOpen) get the same redirect and their open is recorded, but it is not
// counted as engagement: they are machines, not readers.
import { deliveryIdFromOpenToken, machineOpen, preferencesLink } from '@policy-push/core';
import { getOpenTarget, type OpenTarget, recordOpen } from '@policy-push/db';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { pageSecurityHeaders, replyWithPage } from '../../plugins/page-headers';
import { ErrorResponse } from '../../schemas/common';
import { invalidOpenLinkPage, unknownOpenLinkPage } from './open-link-pages';

const tags = ['engagement'];

const Params = Type.Object(
  { '*': Type.String({ maxLength: 256, description: 'the signed token from the link' }) },
  { additionalProperties: false },
);
const Query = Type.Object(
  {
    to: Type.Optional(
      Type.Union([Type.Literal('policy'), Type.Literal('interpretation')], { description: 'where to go; policy by default' }),
    ),
  },
  { additionalProperties: false },
);
const Html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });

// The URL holds the token: request logs name the route, never the URL.
const logSerializers = { req: (req: FastifyRequest) => ({ method: req.method, url: '/r/[token]' }) };

/** Where the link leads: only the policy's own http(s) pages, so it can never be an open redirect. */
function destination(target: OpenTarget, to: 'policy' | 'interpretation' | undefined, inbox: () => string): string | null {
  if (target.kind === 'digest') return inbox();
  const url = to === 'interpretation' ? (target.interpretationUrl ?? target.policyUrl) : target.policyUrl;
  return url && /^https?:\/\//i.test(url) ? url : null;
}

export default async function openLinkRoutes(app: AppInstance) {
  const { db, signingSecret, config } = app.deps;
  await pageSecurityHeaders(app);

  app.get(
    '/r/*',
    {
      logSerializers,
      schema: {
        tags,
        summary: 'A link in a message: counts the open, then redirects to the policy (or its interpretation)',
        description:
          'Every open is recorded (first and last open, one `opened` event for the first). It counts as engagement unless a machine made it: a HEAD request, a known mail-scanner or link-preview user agent, or an open within 60 seconds of the send (README, "How engagement is decided"); machines are redirected all the same. No cookie, no login: the signed token names the delivery.',
        params: Params,
        querystring: Query,
        produces: ['text/html'],
        response: {
          302: { description: 'to the policy, its interpretation, or (a digest) the contact’s inbox', type: 'null' },
          400: {
            description: 'invalid or expired link (an HTML page), or a bad `to`',
            content: { 'text/html': { schema: Type.String() }, 'application/json': { schema: ErrorResponse } },
          },
          404: Html('the delivery or its policy page no longer exists'),
        },
      },
    },
    async (req, reply) => {
      const now = new Date();
      const deliveryId = deliveryIdFromOpenToken(signingSecret, req.params['*'], now);
      if (deliveryId === null) {
        req.log.warn({ link: 'open' }, 'signed link refused: invalid or expired token');
        return replyWithPage(reply, invalidOpenLinkPage(), 400);
      }
      const target = await getOpenTarget(db.db, deliveryId);
      const to =
        target && destination(target, req.query.to, () => preferencesLink(config.publicBaseUrl, signingSecret, target.contactId, now));
      if (!target || !to) return replyWithPage(reply, unknownOpenLinkPage(), 404);
      const machine = machineOpen({ method: req.method, userAgent: req.headers['user-agent'], sentAt: target.sentAt, at: now });
      const { first, engaged } = await db.db.transaction((tx) => recordOpen(tx, { deliveryId, channel: target.channel, at: now, machine }));
      if (first || engaged) req.log.info({ deliveryId, channel: target.channel, machine, engaged }, 'message opened');
      // The destination must not learn the token from a Referer.
      return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(to, 302);
    },
  );
}
