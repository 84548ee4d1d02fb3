import type { Database } from '@policy-push/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';
import type { KeyIdentity, VerifiedKeys } from '../services/api-keys';
import type { FailedAttempts } from './rate-limits';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: KeyIdentity;
  }
}

/**
 * Every route registered in this scope needs `Authorization: Bearer <key>`. A request without one,
 * or with a wrong one, counts against its address's failed attempts; an address past them is
 * refused before its key is looked up.
 */
export function requireApiKey(app: FastifyInstance, db: Database, verifiedKeys: VerifiedKeys, failures: FailedAttempts): void {
  app.decorateRequest('apiKey', null as unknown as KeyIdentity);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const refusal = failures.refusal(req, reply);
    if (refusal) throw refusal;
    const header = req.headers.authorization;
    const match = header?.match(/^Bearer\s+(\S+)$/i);
    const identity = match && (await verifiedKeys.authenticate(db, match[1]));
    if (!identity) {
      failures.failed(req.ip);
      if (!match) throw new ApiError(401, 'unauthorized', 'Authorization: Bearer <api key> is required');
      throw new ApiError(401, 'unauthorized', 'the API key is unknown or revoked');
    }
    req.apiKey = identity;
  });
}
