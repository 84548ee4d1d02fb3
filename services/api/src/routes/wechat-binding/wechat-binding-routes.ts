// POST /v1/contacts/{id}/wechat-binding: a signed QR code and web-authorisation link that bind
// the contact to its WeChat openid (wechat-binding-service.ts). Under /v1, with an API key.
import { createWechatTokenSource, WechatApiError, WechatTokenError, WechatTransportError } from '@policy-push/channels';
import { getContact, providerTokenStore } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { scope } from '../../plugins/authorize';
import { ApiError, notFound } from '../../errors';
import { ErrorResponse, errorResponses, IdParams, Timestamp } from '../../schemas/common';
import { createWechatBinding } from './wechat-binding-service';

const WechatBinding = Type.Object({
  scene: Type.String({ description: 'the signed scene naming the contact (QR scene_str and OAuth state), at most 64 characters' }),
  qrCodeUrl: Type.String({ description: "the QR code image (WeChat's showqrcode URL); scanning it and following binds the openid" }),
  authorizeUrl: Type.String({
    description: 'web authorisation (snsapi_base): opened in WeChat, it comes back to /wechat/oauth/callback and binds the openid',
  }),
  expiresAt: Timestamp,
});

export default async function wechatBindingRoutes(app: AppInstance) {
  const { config, db, signingSecret } = app.deps;
  const settings = config.providers.wechat;
  // One token source per process, sharing the dispatchers' cache in Postgres.
  const tokens =
    settings && createWechatTokenSource({ store: providerTokenStore(db.db, 'wechat'), settings, timeoutMs: config.providers.timeoutMs });

  app.post(
    '/contacts/:id/wechat-binding',
    {
      config: { access: { enterprise: scope.contactOfEnterprise() } },
      schema: {
        tags: ['contacts'],
        description:
          'A QR code and a web-authorisation link that bind the contact to the openid of whoever follows through them (valid 7 days). ' +
          'Changes nothing until then. 409 wechat_not_configured without WeChat settings; 502 wechat_unavailable when WeChat cannot make the QR code.',
        params: IdParams,
        response: { 201: WechatBinding, ...errorResponses, 502: ErrorResponse },
      },
    },
    async (req, reply) => {
      if (!settings || !tokens) throw new ApiError(409, 'wechat_not_configured', 'WeChat is not configured on this service');
      const contactId = Number(req.params.id);
      if (!(await getContact(db.db, contactId))) throw notFound('contact');
      try {
        const binding = await createWechatBinding(
          { db: db.db, settings, tokens, signingSecret, publicBaseUrl: config.publicBaseUrl, timeoutMs: config.providers.timeoutMs },
          contactId,
        );
        return reply.code(201).send(binding);
      } catch (err) {
        // WeChat's own refusals and outages are a 502; anything else (the database) is ours: a 500.
        if (!(err instanceof WechatApiError || err instanceof WechatTokenError || err instanceof WechatTransportError)) throw err;
        req.log.warn({ err }, 'wechat binding QR code not made');
        throw new ApiError(502, 'wechat_unavailable', `WeChat could not make the QR code: ${(err as Error).message}`);
      }
    },
  );
}
