import { safeError } from '@policy-push/core';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, databaseUnavailable, type FieldProblem, isDatabaseUnavailable } from '../errors';

interface AjvProblem {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export function errorHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}`, fields: [] } });
  });

  app.setErrorHandler((err: FastifyError & Partial<ApiError>, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message, fields: err.fields } });
    }
    if (err.validation) {
      const fields = (err.validation as AjvProblem[]).map((v) => fieldOf(v, err.validationContext ?? 'body'));
      const first = fields[0];
      return reply.code(400).send({
        error: {
          code: 'invalid_request',
          message: first ? `${first.path}: ${describe(err.validation[0] as AjvProblem)}` : err.message,
          fields,
        },
      });
    }
    if (isDatabaseUnavailable(err)) {
      req.log.warn({ err: safeError(err) }, 'database unavailable');
      const e = databaseUnavailable();
      return reply
        .code(e.statusCode)
        .header('retry-after', '5')
        .send({ error: { code: e.code, message: e.message, fields: [] } });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own client errors: bad JSON, wrong content type, body too large…
      return reply.code(status).send({ error: { code: clientCode(err), message: err.message, fields: [] } });
    }
    req.log.error({ err: safeError(err) }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal_error', message: 'internal error', fields: [] } });
  });
}

function fieldOf(v: AjvProblem, part: string): FieldProblem {
  const base = v.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  const child = (v.params.missingProperty ?? v.params.additionalProperty) as string | undefined;
  const path = [part === 'body' ? '' : part, base, child ?? ''].filter(Boolean).join('.') || part;
  const code = v.keyword === 'additionalProperties' ? 'unknown_field' : v.keyword;
  return { path, code };
}

function describe(v: AjvProblem): string {
  if (v.keyword === 'additionalProperties') return 'unknown field';
  return v.message ?? v.keyword;
}

function clientCode(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'invalid_json';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported_media_type';
    default:
      return (err.code ?? 'bad_request').replace(/^FST_ERR_/, '').toLowerCase();
  }
}
