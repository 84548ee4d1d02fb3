// GET /wechat/oauth/callback: where WeChat's web authorisation returns with `code` and the signed
// `state` (wechat-binding-service.ts). Public: the signed state is the credential.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { replyWithPage } from '../../plugins/page-headers';
import type { AppInstance } from '../../app-instance';
import { ApiError } from '../../errors';
import { ErrorResponse } from '../../schemas/common';
import { boundPage, codeRefusedPage, contactGonePage, invalidLinkPage, unavailablePage } from './wechat-binding-pages';
import { completeOauthBinding, OAUTH_CALLBACK_PATH } from './wechat-binding-service';

const CallbackQuery = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 512, description: 'the authorisation code' }),
    state: Type.String({ minLength: 1, maxLength: 128, description: 'the signed binding scene' }),
  },
  { additionalProperties: true },
);
const Html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });

// Request logs show the route, never the code or the state.
const logSerializers = { req: (req: FastifyRequest) => ({ method: req.method, url: OAUTH_CALLBACK_PATH }) };

export default async function wechatOauthRoutes(app: AppInstance) {
  const { config, db, signingSecret } = app.deps;

  app.get(
    OAUTH_CALLBACK_PATH,
    {
      logSerializers,
      schema: {
        tags: ['contacts'],
        description: 'The end of WeChat web authorisation (snsapi_base): binds the openid to the contact named by the signed `state`.',
        querystring: CallbackQuery,
        produces: ['text/html'],
        response: {
          200: Html('linked'),
          400: {
            description: 'forged or expired state, or a code WeChat refused; nothing written',
            content: { 'text/html': { schema: Type.String() }, 'application/json': { schema: ErrorResponse } },
          },
          404: {
            description: 'the contact no longer exists (page), or WeChat is not configured (wechat_not_configured)',
            content: { 'text/html': { schema: Type.String() }, 'application/json': { schema: ErrorResponse } },
          },
          502: Html('WeChat could not be reached'),
        },
      },
    },
    async (req, reply) => {
      const settings = config.providers.wechat;
      if (!settings) throw new ApiError(404, 'wechat_not_configured', 'WeChat is not configured on this service');
      let result;
      try {
        result = await completeOauthBinding(
          { db: db.db, settings, signingSecret, timeoutMs: config.providers.timeoutMs, ip: req.ip },
          req.query.code,
          req.query.state,
        );
      } catch (err) {
        req.log.warn({ err }, 'wechat oauth code exchange failed');
        return replyWithPage(reply, unavailablePage(), 502);
      }
      req.log.info({ result }, 'wechat oauth binding');
      switch (result) {
        case 'bound':
          return replyWithPage(reply, boundPage());
        case 'invalid_state':
          return replyWithPage(reply, invalidLinkPage(), 400);
        case 'code_refused':
          return replyWithPage(reply, codeRefusedPage(), 400);
        case 'contact_gone':
          return replyWithPage(reply, contactGonePage(), 404);
      }
    },
  );
}
