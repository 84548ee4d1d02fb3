import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';

// PostgreSQL text cannot hold a NUL character (the query fails, which would be a 500), and an
// unpaired UTF-16 surrogate is silently turned into U+FFFD on the way in, so what is stored is not
// what was sent. Both are refused up front, for every route, wherever they are: path, query,
// body, or a key of the body.

/** The path of the first string (or key) with a NUL or an unpaired surrogate, or null. */
export function findUnsafeText(value: unknown, root: string): string | null {
  // Iterative: bodies may be nested thousands deep.
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isSafeText(v)) return path;
    } else if (v && typeof v === 'object' && !Buffer.isBuffer(v) && typeof (v as { pipe?: unknown }).pipe !== 'function') {
      for (const [key, child] of Object.entries(v)) {
        const childPath = path ? `${path}.${key}` : key;
        if (!isSafeText(key)) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return null;
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const isSafeText = (s: string) => !s.includes('\u0000') && !UNPAIRED_SURROGATE.test(s);

export function refuseUnsafeText(app: FastifyInstance): void {
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const path = findUnsafeText(req.params, 'params') ?? findUnsafeText(req.query, 'query') ?? findUnsafeText(req.body, '');
    if (path === null) return;
    const field = path || 'body';
    throw new ApiError(400, 'invalid_characters', `${field}: text may not contain NUL characters or unpaired surrogates`, [
      { path: field, code: 'invalid_characters' },
    ]);
  });
}
