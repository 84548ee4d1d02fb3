import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Fastify's router answers a URL it cannot decode, or a path parameter longer than
 * maxParamLength, itself, before any hook or error handler, in its own shape that echoes the
 * URL (which may hold a signed token). This answers them in the API's error shape instead.
 */
export function routerErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  const [status, code, message] =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? [414, 'uri_too_long', 'a path parameter is too long']
      : err.code === 'FST_ERR_BAD_URL'
        ? [400, 'invalid_url', 'the URL is not valid (bad percent-encoding or characters)']
        : [400, 'bad_request', 'the request could not be routed'];
  return reply.code(status).send({ error: { code, message, fields: [] } });
}
