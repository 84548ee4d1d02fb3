// Every POST of a signed-in page carries the session's CSRF token (ops-session.ts). Checked after
// the body is parsed; the sign-in form has its own double-submit check (ops-login-routes.ts).
import type { AppInstance } from '../../app-instance';
import { errorPage } from './ops-layout';
import { replyWithPage } from '../../plugins/page-headers';
import { csrfToken, sameToken } from './ops-session';

export function requireCsrfToken(app: AppInstance): void {
  const secret = app.deps.signingSecret;
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST' || !req.opsUser) return;
    const given = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (!sameToken(given, csrfToken(secret, req.opsUser.session))) {
      return replyWithPage(
        reply,
        errorPage(
          403,
          'csrf',
          '表单已失效或不是从本站提交的，请返回重试。',
          'This form is stale or was not sent from these pages; go back and try again.',
        ),
        403,
      );
    }
  });
}
