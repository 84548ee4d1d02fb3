// Rate limits (README "Limits"), with @fastify/rate-limit and its in-memory store: counts are
// per API process, so N replicas allow up to N times the limit. That is enough to stop a runaway
// script or a flood; it is not a quota. Windows are one minute.
//
//   /v1/*           per API key, by its id, once the key is verified
//   /r/ /u/ /p/ /c/ per client address, stricter: these pages take no key, only a signed token
//   /webhooks/*     per client address, sized for a provider's bursts of receipts
//
// Failed sign-ins (FailedAttempts below) are counted apart, per client address: requests to /v1
// without a key or with a wrong one, and wrong keys at /ops/login. Past the allowance an address
// waits before its next attempt is even looked up; a key's own allowance is not spent by others
// guessing at its public prefix.
import rateLimit from '@fastify/rate-limit';
import type { LimitSettings } from '@policy-push/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';

const WINDOW_MS = 60_000;
type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface RateLimitHooks {
  /** For the /v1 scope, after authentication. */
  perKey: Hook;
  /** For the scope of the routes without a key; applies itself only to links and webhooks. */
  perAddress: Hook;
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
    keyGenerator: (req) => `key:${req.apiKey.id}`,
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

const FIRST_WAIT_MS = 60_000;
const LONGEST_WAIT_MS = 15 * 60_000;
/** Entries kept at most: past it, the ones that wait for nothing are dropped. */
const MAX_ADDRESSES = 100_000;

/**
 * Failed sign-in attempts per client address, in memory (per API process, like the limits above):
 * an address may fail `allowance` times; then it waits a minute before it may try again, and each
 * further failure doubles the wait, up to 15 minutes. Its count is forgotten after 15 minutes
 * without a failure. Checked before a key is looked up, so guessing costs no database work.
 */
export class FailedAttempts {
  private readonly byAddress = new Map<string, { failures: number; last: number; until: number }>();

  constructor(private readonly allowance: number) {}

  /** Milliseconds this address must still wait, 0 when it may try. */
  waitMs(address: string, now = Date.now()): number {
    const entry = this.byAddress.get(address);
    return entry ? Math.max(0, entry.until - now) : 0;
  }

  failed(address: string, now = Date.now()): void {
    let entry = this.byAddress.get(address);
    if (!entry || now - entry.last > LONGEST_WAIT_MS) {
      if (!entry && this.byAddress.size >= MAX_ADDRESSES) this.forgetIdle(now);
      entry = { failures: 0, last: now, until: 0 };
      this.byAddress.set(address, entry);
    }
    entry.failures++;
    entry.last = now;
    const over = entry.failures - this.allowance;
    if (over >= 0) entry.until = now + Math.min(FIRST_WAIT_MS * 2 ** Math.min(over, 10), LONGEST_WAIT_MS);
  }

  /** A 429 for an address that must wait, with Retry-After; undefined when it may try. */
  refusal(req: FastifyRequest, reply: FastifyReply): ApiError | undefined {
    const wait = this.waitMs(req.ip);
    if (!wait) return undefined;
    const seconds = Math.ceil(wait / 1000);
    reply.header('retry-after', String(seconds));
    return new ApiError(429, 'rate_limited', `too many failed sign-ins from this address; retry in ${seconds} seconds`);
  }

  private forgetIdle(now: number): void {
    for (const [address, entry] of this.byAddress) if (entry.until <= now) this.byAddress.delete(address);
  }
}
