// The Official Account's server URL (CHANNELS.md "Receipts" and "Authenticity"): the GET that
// verifies the URL, and the signed XML events WeChat POSTs — template receipts (joined to their
// delivery by MsgID), follow and unfollow (suppression), and follows through a contact's signed
// binding QR code. Nothing is read or written before the signature checks out.
import {
  interpretWechatEvent,
  openWechatCallback,
  verifyBindingScene,
  type WechatCallbackQuery,
  type WechatEvent,
  wechatUrlCheckEcho,
} from '@policy-push/channels';
import { bindWechatOpenid, optInByAddress, optOutByAddress, recordReceipt } from '@policy-push/db';
import { auditContacts, recipient } from '../../services/audit';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { ApiError } from '../../errors';
import { ErrorResponse } from '../../schemas/common';

const tags = ['webhooks'];
export const XML_LIMIT = 64 * 1024; // events are a few hundred bytes

// WeChat adds parameters over time (openid, encrypt_type…): only the ones used are named.
const text = (description: string) => Type.Optional(Type.String({ maxLength: 512, description }));
const SignedQuery = Type.Object(
  {
    signature: text('sha1 of the sorted token, timestamp and nonce'),
    timestamp: text('seconds since the epoch'),
    nonce: text('random'),
    msg_signature: text('safe mode: sha1 of the sorted token, timestamp, nonce and Encrypt'),
    encrypt_type: text('safe mode: aes'),
  },
  { additionalProperties: true },
);
const VerifyQuery = Type.Object(
  { ...SignedQuery.properties, echostr: text('echoed back when the signature is valid') },
  { additionalProperties: true },
);
const Plain = (description: string) => ({ description, content: { 'text/plain': { schema: Type.String() } } });
const refusals = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse };

// The signature covers the timestamp, so a callback recorded and replayed later keeps a valid
// signature: only its age gives it away. WeChat retries within about 15 seconds; five minutes
// either way leaves room for clock drift.
const MAX_CLOCK_SKEW_SECONDS = 300;

/** Refuses a callback whose timestamp is missing or too far from now (a replay, or a stale copy). */
function requireFreshTimestamp(req: FastifyRequest, timestamp: string | undefined): void {
  const seconds = timestamp && /^[0-9]{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
  if (Number.isFinite(seconds) && Math.abs(Date.now() / 1000 - seconds) <= MAX_CLOCK_SKEW_SECONDS) return;
  req.log.warn({ webhook: 'wechat', reason: 'timestamp' }, 'wechat callback refused: timestamp missing or outside the window');
  throw new ApiError(401, 'stale_timestamp', `the timestamp is missing or more than ${MAX_CLOCK_SKEW_SECONDS} s from now`);
}

// Request logs show the route only: the query carries the follower's openid.
const logSerializers = { req: (req: FastifyRequest) => ({ method: req.method, url: '/webhooks/wechat' }) };

export default async function wechatWebhooks(app: AppInstance) {
  const { config, db, signingSecret } = app.deps;
  const notConfigured = () => new ApiError(404, 'wechat_not_configured', 'WeChat is not configured on this service');
  const settings = () => {
    if (!config.providers.wechat) throw notConfigured();
    return config.providers.wechat;
  };
  // Before anything else, validation included: without settings there is nothing to check against.
  app.addHook('onRequest', async () => {
    if (!config.providers.wechat) throw notConfigured();
  });

  // WeChat posts text/xml; the body is kept as text for the signature and decryption checks.
  // Registered in this plugin's scope only: the rest of the API speaks JSON.
  app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string', bodyLimit: XML_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  app.get(
    '/webhooks/wechat',
    {
      logSerializers,
      schema: {
        tags,
        description: "WeChat's server-URL check: echoes `echostr` when the signature is valid.",
        querystring: VerifyQuery,
        produces: ['text/plain'],
        response: { 200: Plain('the echostr'), ...refusals },
      },
    },
    async (req, reply) => {
      requireFreshTimestamp(req, (req.query as WechatCallbackQuery).timestamp);
      const echo = wechatUrlCheckEcho(settings(), req.query as WechatCallbackQuery);
      if (echo === null) {
        req.log.warn({ webhook: 'wechat', reason: 'signature' }, 'wechat url check refused');
        throw new ApiError(401, 'invalid_signature', 'missing or invalid signature');
      }
      return reply.type('text/plain; charset=utf-8').send(echo);
    },
  );

  app.post(
    '/webhooks/wechat',
    {
      logSerializers,
      schema: {
        tags,
        description:
          'Events from WeChat (XML; encrypted in safe mode, when WECHAT_ENCODING_AES_KEY is set). TEMPLATESENDJOBFINISH is recorded as a receipt by MsgID ' +
          '(success → delivered; failed:user block → failed, and the contact opted out of WeChat; other failures → undelivered). ' +
          'unsubscribe opts the openid out of WeChat; subscribe / SCAN opt it back in, and bind it to the contact named by a signed binding scene. ' +
          'Always answers `success`; repeats are harmless.',
        querystring: SignedQuery,
        consumes: ['text/xml', 'application/xml'],
        produces: ['text/plain'],
        response: { 200: Plain('success'), ...refusals },
      },
    },
    async (req, reply) => {
      requireFreshTimestamp(req, (req.query as WechatCallbackQuery).timestamp);
      const body = typeof req.body === 'string' ? req.body : '';
      const opened = openWechatCallback(settings(), req.query as WechatCallbackQuery, body);
      if (!opened.ok && opened.problem !== 'xml') {
        req.log.warn({ webhook: 'wechat', reason: opened.problem }, 'wechat event refused');
        throw new ApiError(401, 'invalid_signature', `wechat event refused: ${opened.problem}`);
      }
      if (!opened.ok) throw new ApiError(400, 'invalid_xml', 'the body is not a WeChat XML message');
      await apply(interpretWechatEvent(opened.fields), req);
      // WeChat waits 5 s and retries three times; anything but `success` or '' is shown to the user.
      return reply.type('text/plain; charset=utf-8').send('success');
    },
  );

  async function apply(event: WechatEvent, req: FastifyRequest): Promise<void> {
    switch (event.kind) {
      case 'receipt': {
        // Not in one transaction with the opt-out on purpose: recordReceipt commits the event
        // before it updates the delivery, so that a send acked concurrently still finds it
        // (outbox-queries.ts). Both writes are idempotent, so WeChat's retry repairs a half-applied one.
        const { deliveryId } = await recordReceipt(db.db, event.receipt, {
          requireConfirmedEmail: config.dispatcher.requireConfirmedEmail,
        });
        const optedOut = event.blocked ? (await optOutByAddress(db.db, 'wechat', event.openid)).length : 0;
        req.log.debug({ status: event.receipt.status, deliveryId, optedOut }, 'wechat receipt');
        return;
      }
      case 'unsubscribe': {
        // The recipient's own act: audited as theirs (no client address: WeChat relayed it).
        const optedOut = await db.db.transaction(async (tx) => {
          const ids = await optOutByAddress(tx, 'wechat', event.openid);
          await auditContacts(tx, recipient(null), 'contact.wechat_unfollow', ids);
          return ids;
        });
        req.log.info({ event: 'unsubscribe', contacts: optedOut.length }, 'wechat unfollow');
        return;
      }
      case 'follow': {
        const contactId = event.scene ? verifyBindingScene(signingSecret, event.scene) : null;
        if (event.scene && contactId === null) req.log.warn({ event: 'follow' }, 'wechat follow with an invalid or expired binding scene');
        const bound = await db.db.transaction(async (tx) => {
          const ok = contactId !== null && (await bindWechatOpenid(tx, contactId, event.openid));
          const optedIn = await optInByAddress(tx, 'wechat', event.openid);
          const changed = ok && contactId !== null && !optedIn.includes(contactId) ? [...optedIn, contactId] : optedIn;
          await auditContacts(tx, recipient(null), 'contact.wechat_follow', changed, { bound: ok });
          return ok;
        });
        req.log.info({ event: 'follow', contactId: bound ? contactId : undefined, bound }, 'wechat follow');
        return;
      }
      case 'ignored':
        req.log.debug({ why: event.why }, 'wechat message ignored');
    }
  }
}
