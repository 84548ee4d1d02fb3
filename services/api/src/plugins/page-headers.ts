import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Security headers (@fastify/helmet) for the HTML pages behind signed links (/r/, /u/, /p/, /c/),
 * in the calling plugin's scope. Each page sets its own Content-Security-Policy (no script, forms
 * post back here only), so helmet's is off; the rest is helmet's defaults, with no framing at all
 * and no Referer (the URL holds the token).
 */
export async function pageSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

/**
 * The policy of a server-rendered page: no script, nothing from elsewhere, styles inline, forms
 * post back here only, no framing. A scope with its own (the ops console's helmet, which allows its
 * scripts) keeps that one.
 */
const PAGE_CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Replies with an HTML page, the one way every page is sent. Pages hold personal data or answer for
 * one token: never cached, never sent on as a Referer (the URL may hold the token).
 */
export function replyWithPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', PAGE_CONTENT_SECURITY_POLICY);
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(html);
}
