// What the console's route modules share: the signed-in user (set by ops-session-check.ts), the
// session's CSRF token for the forms of a page. Pages are sent with replyWithPage (plugins/page-headers.ts).
import type { FastifyRequest } from 'fastify';
import type { AppInstance } from '../../app-instance';
import type { OpsContext } from './ops-log-routes';
import { csrfToken, type OpsUser } from './ops-session';

export function opsContext(app: AppInstance): OpsContext {
  const secret = app.deps.signingSecret;
  const user = (req: FastifyRequest) => req.opsUser as OpsUser;
  return { user, csrf: (req) => csrfToken(secret, user(req).session) };
}
