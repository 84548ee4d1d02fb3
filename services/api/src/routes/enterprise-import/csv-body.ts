import { Transform, type Readable } from 'node:stream';
import { errorCodes, type FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { ApiError } from '../../errors';

/** The body limit of the CSV routes: a city's whole register of enterprises fits. */
export const CSV_BODY_LIMIT = 200 * 1024 * 1024;

/**
 * The body schema of a CSV route, for the OpenAPI document: it accepts any value, since the body
 * is the unread stream (a string schema would refuse it).
 */
export const CsvBody = (description: string) => Type.Unknown({ description });

/**
 * Options for a route that takes a CSV body: the raised limit, and a check that runs before any
 * body parser, so that the raised limit never lets another parser buffer 200 MB of JSON.
 */
export const csvRouteOptions = {
  bodyLimit: CSV_BODY_LIMIT,
  onRequest: async (req: FastifyRequest) => {
    const mediaType = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
    if (mediaType !== 'text/csv')
      throw new ApiError(415, 'unsupported_media_type', 'send the file as the body with Content-Type: text/csv');
  },
};

/**
 * Registers, in the calling plugin's scope only, a `text/csv` parser that hands the request
 * stream on as the body, unread: the route parses it record by record, so a 100,000-row file is
 * never in memory. Fastify enforces bodyLimit only for parsers that buffer (`parseAs`), so this
 * one enforces the route's limit itself, on the declared length and on the bytes that arrive.
 * Whatever the answer, the rest of an unread upload is drained (drainUnread).
 */
export function acceptCsvStream(app: AppInstance): void {
  app.addHook('onSend', async (req) => drainUnread(req));
  app.addContentTypeParser('text/csv', (req, payload, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset && !/^utf-?8$/i.test(charset)) {
      return done(new ApiError(415, 'unsupported_media_type', `CSV must be UTF-8, not ${charset}`), undefined);
    }
    const limit = req.routeOptions.bodyLimit;
    if (Number(req.headers['content-length']) > limit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
    done(null, limitBytes(payload, limit));
  });
}

/** The stream, failing with 413 once more than `limit` bytes have passed. */
function limitBytes(source: Readable, limit: number): Readable {
  let seen = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(seen > limit ? new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE() : null, chunk);
    },
  });
  // pipe() does not forward errors: a client that hangs up mid-upload must fail the import.
  source.on('error', (err) => limited.destroy(err));
  return source.pipe(limited);
}

/**
 * Lets the rest of a body nobody will read flow away, as the answer goes out: a refusal before
 * the upload was read (404 for the group, a bad header row, a malformed line), or an import that
 * stopped early. Node drains a body only when nothing began reading it; once the parser has
 * piped it, the unread rest holds back the connection, and the client's next request on it waits
 * unanswered. Past the route's limit the connection is closed instead.
 */
function drainUnread(req: FastifyRequest): void {
  const raw = req.raw;
  if (raw.complete || raw.destroyed) return;
  let left = req.routeOptions.bodyLimit;
  raw.unpipe();
  raw.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) raw.destroy();
  });
  raw.resume();
}
