import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

// Fastify's default validator drops unknown fields and coerces types. Here bodies are checked
// exactly as sent: unknown fields and wrong types are refused. Query strings and path params
// are text by nature, so only they are converted to the declared number or boolean.
const common: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };

export function strictValidation(app: FastifyInstance): void {
  const bodies = addFormats.default(new Ajv({ ...common, coerceTypes: false }));
  const queries = addFormats.default(new Ajv({ ...common, coerceTypes: true }));
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies.compile(schema) : queries.compile(schema)));
}
