import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';

// PostgreSQL text cannot hold a NUL character (the query fails, which would be a 500), and an
// unpaired UTF-16 surrogate is silently turned into U+FFFD on the way in, so what is stored is not
// what was sent. Both are refused up front, for every route, wherever they are: path, query,
// body, or a key of the body.
//
// Other C0 control characters (U+0001–U+001F) are refused too, since a CR or LF in a department
// name, a title or a document number goes verbatim into an SMS or a mail header. The exception is
// the multi-line fields of a body (MULTI_LINE_FIELDS: summaries, which the console's textareas
// post): they keep LF and TAB, and CRLF, as browsers send it, is stored as LF. Webhooks are
// providers' payloads, not our fields: a recipient's message may hold a line break, and refusing
// it would lose the message; they are held to the NUL and surrogate rule only.

/** Body fields, by name, whose text may run over several lines. */
export const MULTI_LINE_FIELDS: ReadonlySet<string> = new Set(['summary', 'summaryEn', 'description']);

type Check = 'storable' | 'one-line';

/**
 * The path of the first string (or key) that breaks `check`, or null. Multi-line fields of the
 * body have CRLF turned into LF in place.
 */
export function findUnsafeText(value: unknown, root: string, check: Check = 'one-line'): string | null {
  // Iterative: bodies may be nested thousands deep.
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isSafeText(v, check)) return path;
    } else if (v && typeof v === 'object' && !Buffer.isBuffer(v) && typeof (v as { pipe?: unknown }).pipe !== 'function') {
      for (const [key, child] of Object.entries(v)) {
        const childPath = path ? `${path}.${key}` : key;
        if (!isSafeText(key, check)) return childPath;
        if (typeof child === 'string' && check === 'one-line' && root === '' && MULTI_LINE_FIELDS.has(key)) {
          const text = child.replace(/\r\n/g, '\n');
          if (!isSafeText(text, 'storable') || MULTI_LINE_CONTROL.test(text)) return childPath;
          (v as Record<string, unknown>)[key] = text;
        } else stack.push([child, childPath]);
      }
    }
  }
  return null;
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F]/;
// All but TAB (U+0009) and LF (U+000A); a CR left after CRLF became LF is a lone one.
// eslint-disable-next-line no-control-regex
const MULTI_LINE_CONTROL = /[\u0000-\u0008\u000B-\u001F]/;
const isSafeText = (s: string, check: Check) =>
  check === 'one-line' ? !CONTROL.test(s) && !UNPAIRED_SURROGATE.test(s) : !s.includes('\u0000') && !UNPAIRED_SURROGATE.test(s);

export function refuseUnsafeText(app: FastifyInstance): void {
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const check: Check = req.routeOptions.url?.startsWith('/webhooks/') ? 'storable' : 'one-line';
    const path =
      findUnsafeText(req.params, 'params', check) ?? findUnsafeText(req.query, 'query', check) ?? findUnsafeText(req.body, '', check);
    if (path === null) return;
    const field = path || 'body';
    const what =
      check === 'one-line'
        ? 'text may not contain control characters (line breaks and tabs only in multi-line fields), NUL or unpaired surrogates'
        : 'text may not contain NUL characters or unpaired surrogates';
    throw new ApiError(400, 'invalid_characters', `${field}: ${what}`, [{ path: field, code: 'invalid_characters' }]);
  });
}
