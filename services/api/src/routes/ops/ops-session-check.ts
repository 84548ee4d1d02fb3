// Who may open what: every /ops request but the sign-in page needs a session (a GET without one
// goes to the sign-in page), and the session's role must be allowed the page (CONSOLE_PAGES).
import type { AppInstance } from '../../app-instance';
import { errorPage } from './ops-layout';
import { replyWithPage } from '../../plugins/page-headers';
import { csrfToken, mayOpen, type OpsUser, pageOf, SESSION_COOKIE, sessionUser } from './ops-session';

declare module 'fastify' {
  interface FastifyRequest {
    opsUser: OpsUser | null;
  }
}

const OPEN_PATHS = new Set(['/ops/login']);

export function requireOpsSession(app: AppInstance): void {
  const { db } = app.deps.db;
  const secret = app.deps.signingSecret;
  app.decorateRequest('opsUser', null);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (!path.startsWith('/ops') || OPEN_PATHS.has(path)) return;
    req.opsUser = await sessionUser(db, secret, req.cookies[SESSION_COOKIE]);
    if (!req.opsUser) {
      if (req.method === 'GET' || req.method === 'HEAD') return reply.redirect('/ops/login', 303);
      return replyWithPage(reply, errorPage(401, 'unauthorized', '请先登录。', 'Sign in first.'), 401);
    }
    const wanted = pageOf(path);
    if (!wanted || mayOpen(req.opsUser.role, wanted)) return;
    // A publisher's home is its departments' policies, not the operators' overview.
    if (wanted === 'dashboard' && mayOpen(req.opsUser.role, 'policies')) return reply.redirect('/ops/policies', 303);
    return replyWithPage(
      reply,
      errorPage(
        403,
        'forbidden',
        '您的密钥无权查看此页面。',
        'Your key may not open this page.',
        req.opsUser,
        csrfToken(secret, req.opsUser.session),
      ),
      403,
    );
  });
}
