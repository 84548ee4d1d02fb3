// Rate limits (README "Limits"), with @fastify/rate-limit and its in-memory store: counts are
// per API process, so N replicas allow up to N times the limit. That is enough to stop a runaway
// script or a flood; it is not a quota. Windows are one minute.
//
//   /v1/*           per API key, by its public prefix (never the whole key); per address without one
//   /r/ /u/ /p/ /c/ per client address, stricter: these pages take no key, only a signed token
//   /webhooks/*     per client address, sized for a provider's bursts of receipts
//
// The per-key limit runs before the key is checked, so a flood of wrong keys is limited too.
import rateLimit from '@fastify/rate-limit';
import type { LimitSettings } from '@policy-push/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';

const WINDOW_MS = 60_000;
// The public part of a key (services/api-keys.ts): enough to tell keys apart, useless to sign in.
const KEY_PREFIX_LENGTH = 13;

type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface RateLimitHooks {
  /** For the /v1 scope, before authentication. */
  perKey: Hook;
  /** For the scope of the routes without a key; applies itself only to links and webhooks. */
  perAddress: Hook;
}

/** The bearer key's public prefix, or null when there is no well-formed bearer header. */
export function keyPrefixOf(req: FastifyRequest): string | null {
  const match = req.headers.authorization?.match(/^Bearer\s+(\S+)$/i);
  return match ? match[1].slice(0, KEY_PREFIX_LENGTH) : null;
}

const LINK_ROUTES = ['/r/', '/u/', '/p/', '/c/'];
const isLinkRoute = (url: string | undefined) => !!url && LINK_ROUTES.some((prefix) => url.startsWith(prefix));
const isWebhookRoute = (url: string | undefined) => !!url && url.startsWith('/webhooks/');

/** Registers the plugin (no limit by itself) and answers the hooks each scope adds. */
export async function rateLimits(app: FastifyInstance, limits: LimitSettings): Promise<RateLimitHooks> {
  await app.register(rateLimit, {
    global: false,
    timeWindow: WINDOW_MS,
    // Our error shape; the plugin has already set Retry-After and the RateLimit headers.
    errorResponseBuilder: (_req, context) =>
      new ApiError(429, 'rate_limited', `too many requests: at most ${context.max} a minute; retry in ${context.after}`),
  });
  const perKey = app.rateLimit({
    max: limits.perKeyPerMinute,
    groupId: 'api',
    keyGenerator: (req) => {
      const prefix = keyPrefixOf(req);
      return prefix ? `key:${prefix}` : `ip:${req.ip}`;
    },
  }) as Hook;
  const links = app.rateLimit({ max: limits.linksPerIpPerMinute, groupId: 'links' }) as Hook;
  const webhooks = app.rateLimit({ max: limits.webhooksPerIpPerMinute, groupId: 'webhooks' }) as Hook;
  return {
    perKey,
    perAddress: async (req, reply) => {
      const url = req.routeOptions.url;
      if (isLinkRoute(url)) return links(req, reply);
      if (isWebhookRoute(url)) return webhooks(req, reply);
    },
  };
}
