import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

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
