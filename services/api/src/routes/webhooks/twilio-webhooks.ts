// Twilio's webhooks (CHANNELS.md "SMS through Twilio"): message status callbacks, and incoming
// messages for STOP / START. Form-encoded, signed with X-Twilio-Signature; nothing is written
// before the signature checks out.
import formbody from '@fastify/formbody';
import { optInByAddress, optOutByAddress, recordReceipt } from '@policy-push/db';
import { auditContacts, recipient } from '../../services/audit';
import type { FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { ApiError } from '../../errors';
import { ErrorResponse } from '../../schemas/common';

const tags = ['webhooks'];
const consumes = ['application/x-www-form-urlencoded'];

// Twilio adds keys over time ("more keys that may change"): only the ones used are named.
const StatusCallback = Type.Object(
  {
    MessageSid: Type.String({ pattern: '^(SM|MM)[0-9a-fA-F]{32}$' }),
    MessageStatus: Type.String({ minLength: 1 }),
    ErrorCode: Type.Optional(Type.String()),
    To: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const IncomingMessage = Type.Object(
  { From: Type.String({ minLength: 1 }), Body: Type.Optional(Type.String()) },
  { additionalProperties: true },
);
const refusals = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse };

// The statuses that are receipts. queued, sending, accepted, scheduled… say nothing new.
const RECEIPT_STATUSES = new Set(['sent', 'delivered', 'undelivered', 'failed'] as const);
type ReceiptStatus = typeof RECEIPT_STATUSES extends Set<infer S> ? S : never;
const isReceiptStatus = (s: string): s is ReceiptStatus => RECEIPT_STATUSES.has(s as ReceiptStatus);
const OPTED_OUT_ERROR = '21610'; // CHANNELS.md: the recipient opted out → suppress

// Reply keywords, matched on the whole trimmed message, case-insensitively. 退订/TD/T are the
// mainland habit ("回T退訂"), kept for numbers that can reply through Twilio; 退訂 is its
// traditional form.
const OPT_OUT_KEYWORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', '退订', '退訂', 'TD', 'T']);
const OPT_IN_KEYWORDS = new Set(['START', 'YES', 'UNSTOP']);

// Keys that carry a phone number (or a message text): never stored with a receipt.
const PRIVATE_KEYS = new Set(['To', 'From', 'Called', 'Caller', 'Body']);

/**
 * Twilio's signature check (the SDK's own validator: HMAC-SHA1 with the auth token over the URL
 * and the sorted params). `url` is the public URL Twilio called, not the one we see behind a proxy.
 */
export function isValidTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, unknown>,
): boolean {
  return typeof signature === 'string' && signature !== '' && twilio.validateRequest(authToken, signature, url, params);
}

export default async function twilioWebhooks(app: AppInstance) {
  // Form bodies are parsed in this plugin's scope only; the rest of the API speaks JSON.
  await app.register(formbody);
  const { config, db } = app.deps;

  // Before validation: a request that is not Twilio's gets a 401 whatever its body looks like.
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const settings = config.providers.twilio;
    if (!settings) throw new ApiError(404, 'twilio_not_configured', 'Twilio is not configured on this service');
    const header = req.headers['x-twilio-signature'];
    const signature = Array.isArray(header) ? header[0] : header;
    const params = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
    if (!isValidTwilioSignature(settings.authToken, signature, `${config.publicBaseUrl}${req.url}`, params)) {
      req.log.warn(
        { webhook: req.routeOptions.url, reason: signature ? 'mismatch' : 'missing' },
        'twilio webhook refused: invalid signature',
      );
      throw new ApiError(401, 'invalid_signature', 'missing or invalid X-Twilio-Signature');
    }
  });

  app.post(
    '/webhooks/twilio/status',
    {
      schema: {
        tags,
        consumes,
        description:
          'Message status callbacks from Twilio. sent / delivered / undelivered / failed are recorded as receipts (idempotent, never moving a delivery backwards); other statuses are acknowledged and ignored.',
        body: StatusCallback,
        response: { 204: Type.Null(), ...refusals },
      },
    },
    async (req, reply) => {
      const { MessageSid, MessageStatus, ErrorCode, To } = req.body;
      if (isReceiptStatus(MessageStatus)) {
        // Not in one transaction on purpose: recordReceipt commits the event before it updates the
        // delivery, so that a send acked concurrently still finds it (outbox-queries.ts). Both
        // writes are idempotent, so a repeated callback repairs a half-applied one.
        await recordReceipt(
          db.db,
          {
            channel: 'sms',
            providerMessageId: MessageSid,
            status: MessageStatus,
            errorCode: ErrorCode || null,
            occurredAt: new Date(),
            payload: withoutPrivateKeys(req.body),
          },
          { requireConfirmedEmail: config.dispatcher.requireConfirmedEmail },
        );
        if (ErrorCode === OPTED_OUT_ERROR && To) await optOutByAddress(db.db, 'sms', To);
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/twilio/inbound',
    {
      schema: {
        tags,
        consumes,
        description:
          'Incoming SMS from Twilio. STOP, UNSUBSCRIBE, 退订, TD… opt the sender out of SMS; START, YES, UNSTOP opt back in. Answers empty TwiML.',
        body: IncomingMessage,
        response: { 200: Type.String({ description: 'TwiML (text/xml)' }), ...refusals },
      },
    },
    async (req, reply) => {
      // Twilio carries no replies from mainland (+86) numbers (CHANNELS.md): this serves
      // international numbers; in mainland China the signed unsubscribe link and the preferences
      // page are the way out.
      const keyword = (req.body.Body ?? '').normalize('NFKC').trim().toUpperCase();
      if (OPT_OUT_KEYWORDS.has(keyword)) {
        // The recipient's own act: audited as theirs (no client address: Twilio relayed it).
        const changed = await db.db.transaction(async (tx) => {
          const ids = await optOutByAddress(tx, 'sms', req.body.From);
          await auditContacts(tx, recipient(null), 'contact.sms_stop', ids);
          return ids;
        });
        req.log.info({ keyword: 'opt-out', contacts: changed.length }, 'sms opt-out by reply');
      } else if (OPT_IN_KEYWORDS.has(keyword)) {
        const changed = await db.db.transaction(async (tx) => {
          const ids = await optInByAddress(tx, 'sms', req.body.From);
          await auditContacts(tx, recipient(null), 'contact.sms_start', ids);
          return ids;
        });
        req.log.info({ keyword: 'opt-in', contacts: changed.length }, 'sms opt-in by reply');
      }
      // An empty response: no reply message (Twilio's own STOP handling answers the recipient).
      return reply.type('text/xml').send(new twilio.twiml.MessagingResponse().toString());
    },
  );
}

function withoutPrivateKeys(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !PRIVATE_KEYS.has(k)));
}
