// Signing in and out of the console:
//   GET /ops/login, POST /ops/login   the form trades an API key for a session (ops-session.ts);
//                                     a double-submit nonce stands in for the CSRF token
//   POST /ops/logout                  ends the session
import type { AppInstance } from '../../app-instance';
import { authenticate, secretHashOf } from '../../services/api-keys';
import { loginPage } from './ops-pages';
import { replyWithPage } from '../../plugins/page-headers';
import { opsContext } from './ops-page-context';
import {
  cookieOptions,
  endSession,
  LOGIN_COOKIE,
  loginNonce,
  newSession,
  SESSION_COOKIE,
  sameToken,
  setSessionCookie,
} from './ops-session';

export function registerLoginRoutes(app: AppInstance): void {
  const { db } = app.deps.db;
  const secret = app.deps.signingSecret;
  const { user } = opsContext(app);
  const hide = { schema: { hide: true } };

  app.get('/ops/login', hide, async (req, reply) => {
    const nonce = req.cookies[LOGIN_COOKIE] ?? loginNonce();
    reply.setCookie(LOGIN_COOKIE, nonce, cookieOptions(req, 3600));
    return replyWithPage(reply, loginPage(nonce));
  });

  app.post('/ops/login', hide, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const expected = req.cookies[LOGIN_COOKIE];
    if (!sameToken(body._csrf, expected)) {
      const nonce = loginNonce();
      reply.setCookie(LOGIN_COOKIE, nonce, cookieOptions(req, 3600));
      return replyWithPage(
        reply,
        loginPage(nonce, { code: 'csrf', zh: '表单已失效，请重试。', en: 'The form was stale; try again.' }),
        403,
      );
    }
    // Guessing keys: an address past its failed attempts waits before its next one is looked up.
    if (app.failedAttempts.refusal(req, reply)) {
      return replyWithPage(
        reply,
        loginPage(expected!, {
          code: 'rate_limited',
          zh: '失败次数过多，请稍后再试。',
          en: 'Too many failed sign-ins from this address; try again later.',
        }),
        429,
      );
    }
    const identity = typeof body.key === 'string' ? await authenticate(db, body.key.trim()) : null;
    if (identity?.role === 'enterprise') {
      req.log.info({ event: 'ops_sign_in_refused', keyId: identity.id }, 'enterprise key refused at the ops console');
      return replyWithPage(
        reply,
        loginPage(expected!, {
          code: 'enterprise_key',
          zh: '企业密钥不能登录运维台；请通过 API 或消息中的偏好设置链接管理订阅。',
          en: 'Enterprise keys cannot sign in to the console; use the API, or the preferences link in any message.',
        }),
        403,
      );
    }
    if (!identity) {
      app.failedAttempts.failed(req.ip);
      req.log.info({ event: 'ops_sign_in_refused' }, 'ops sign-in refused');
      return replyWithPage(
        reply,
        loginPage(expected!, { code: 'bad_key', zh: 'API 密钥无效或已吊销。', en: 'The API key is unknown or revoked.' }),
        401,
      );
    }
    setSessionCookie(req, reply, await newSession(db, secret, identity.id, secretHashOf(String(body.key).trim())));
    reply.clearCookie(LOGIN_COOKIE, { path: '/ops' });
    req.log.info({ keyId: identity.id }, 'ops signed in');
    return reply.redirect('/ops', 303);
  });

  app.post('/ops/logout', hide, async (req, reply) => {
    await endSession(db, user(req).sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: '/ops' });
    return reply.redirect('/ops/login', 303);
  });
}
