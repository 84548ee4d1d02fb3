// What the console's route modules share: the signed-in user (set by ops-session-check.ts), the
// session's CSRF token for the forms of a page, and sending a page.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppInstance } from '../../app-instance';
import type { OpsContext } from './ops-log-routes';
import { csrfToken, type OpsUser } from './ops-session';

export function sendPage(reply: FastifyReply, status: number, html: string) {
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

export function opsContext(app: AppInstance): OpsContext {
  const secret = app.deps.signingSecret;
  const user = (req: FastifyRequest) => req.opsUser as OpsUser;
  return { user, csrf: (req) => csrfToken(secret, user(req).session), sendPage };
}
