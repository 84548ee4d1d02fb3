import type { Database } from '@policy-push/db';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';
import type { KeyIdentity, VerifiedKeys } from '../services/api-keys';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: KeyIdentity;
  }
}

/** Every route registered in this scope needs `Authorization: Bearer <key>`. */
export function requireApiKey(app: FastifyInstance, db: Database, verifiedKeys: VerifiedKeys): void {
  app.decorateRequest('apiKey', null as unknown as KeyIdentity);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const header = req.headers.authorization;
    const match = header?.match(/^Bearer\s+(\S+)$/i);
    if (!match) throw new ApiError(401, 'unauthorized', 'Authorization: Bearer <api key> is required');
    const identity = await verifiedKeys.authenticate(db, match[1]);
    if (!identity) throw new ApiError(401, 'unauthorized', 'the API key is unknown or revoked');
    req.apiKey = identity;
  });
}
