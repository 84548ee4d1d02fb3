// The ops console (issue 5, "The console"): server-rendered pages under /ops, signed in with an
// API key through a form (ops-session.ts). Registered among the public routes because it does its
// own authentication with a cookie instead of the API's Authorization header. This plugin only
// composes the console's parts, all in its one scope so that the hooks hold for every page:
//   ops-headers.ts          security headers (the console's CSP), no caching
//   ops-session-check.ts    a session for every page but the sign-in form; the role may open the page
//   ops-masking.ts          addresses masked for operators, link tokens removed for all but admins
//   ops-csrf-check.ts       the session's CSRF token on every POST
//   ops-login-routes.ts     GET/POST /ops/login, POST /ops/logout
//   ops-overview-routes.ts  GET /ops (overview), GET /ops/outbox
//   ops-log-routes.ts       /ops/deliveries…, /ops/enterprises…
//   ops-compose-routes.ts   GET /ops/compose, POST /ops/compose/count | preview | edit | publish
//   ops-policy-routes.ts    /ops/policies, /ops/policies/:id and its actions
// Each role sees what it may do on /v1 (CONSOLE_PAGES in ops-session.ts): admins everything; ops
// the read-only views, with phone numbers and emails masked; publishers compose, publish and
// follow their own departments' policies; enterprise keys cannot sign in.
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { AppInstance } from '../../app-instance';
import { registerComposeRoutes } from './ops-compose-routes';
import { requireCsrfToken } from './ops-csrf-check';
import { registerOpsHeaders } from './ops-headers';
import { registerLogRoutes } from './ops-log-routes';
import { registerLoginRoutes } from './ops-login-routes';
import { maskForRole } from './ops-masking';
import { registerOverviewRoutes } from './ops-overview-routes';
import { opsContext } from './ops-page-context';
import { opsPolicyRoutes } from './ops-policy-routes';
import { requireOpsSession } from './ops-session-check';

export default async function opsRoutes(app: AppInstance) {
  await app.register(cookie);
  // Form bodies in this scope only; the API speaks JSON.
  await app.register(formbody);
  await registerOpsHeaders(app);
  requireOpsSession(app);
  maskForRole(app);
  requireCsrfToken(app);

  registerLoginRoutes(app);
  registerOverviewRoutes(app);
  registerLogRoutes(app, opsContext(app));
  registerComposeRoutes(app);
  await opsPolicyRoutes(app);
}
