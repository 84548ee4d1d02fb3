// Hostile input for every operation of the OpenAPI document (issue 6, "Hostile input"). For each
// operation, fast-check makes requests from its own schemas — a plausible body with one thing made
// hostile (wrong type, missing field, huge or odd string, injection text, numbers out of range,
// unknown field, deep nesting), hostile path params and query strings — plus malformed JSON and
// wrong content types, all sent with an admin key. Whatever comes in:
//   - never a 5xx;
//   - a 4xx from the API is JSON with a stable `code` (the pages a browser opens — signed links,
//     the WeChat authorisation callback — answer a page);
//   - a refused request changes no table's row count.
// FUZZ_RUNS sets the generated cases per operation (default 4, so the file stays well under a
// minute); FUZZ_SEED replays a run. `FUZZ_RUNS=200 pnpm vitest run services/api/test/fuzz.test.ts`
// digs deeper.
import { rowsOf, sql } from '@policy-push/db';
import { type ProviderFakes, startProviderFakes } from '@policy-push/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, seedWorld, type TestApp } from './helpers';

const RUNS = Number(process.env.FUZZ_RUNS ?? 4);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

type Schema = {
  type?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  minItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  default?: unknown;
};
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  schema: Schema;
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  bodyTypes: string[];
  bodySchema?: Schema;
}

// ---------------------------------------------------------------------------------------------
// Hostile values

const hostileStrings = [
  '',
  ' ',
  'a'.repeat(100_000),
  '界'.repeat(20_000),
  '\u0000',
  'abc\u0000def',
  '\u202Eevil\u202C',
  '\u200B\uFEFF',
  '😀👨‍👩‍👧‍👦🏳️‍🌈',
  '\uD800',
  'x\uDFFFy',
  "' OR '1'='1",
  '1; DROP TABLE contacts; --',
  "'); delete from api_keys; --",
  '1 union select secret_hash from api_keys',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '{{7*7}}${7*7}',
  '../../../../etc/passwd',
  '%00%2e%2e%2f',
  'NaN',
  'Infinity',
  '-Infinity',
  '-1',
  '0',
  '1e309',
  '9'.repeat(40),
  '0x1F',
  '1.5',
  'true',
  'null',
  '[]',
  '{}',
  '2024-02-30T25:61:00Z',
  'javascript:alert(1)',
  'https://evil.example/%0d%0aSet-Cookie:x=1',
];
const hostileString = fc.oneof(
  { arbitrary: fc.constantFrom(...hostileStrings), weight: 4 },
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 10 }),
);
const hostileNumber = fc.constantFrom(-1, 0, -0, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, -1e308, Number.MIN_VALUE, 1e21);
const deepNest = (depth: number): unknown => (depth === 0 ? 'bottom' : { a: [deepNest(depth - 1)] });
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(hostileString, { maxLength: 3 }),
  fc.constant(Array.from({ length: 5000 }, (_, i) => String(i + 1))),
  fc.constantFrom(deepNest(50), deepNest(2000)),
  fc.dictionary(fc.string({ maxLength: 8 }), hostileString, { maxKeys: 3 }),
  fc.constant({ __proto__: { admin: true }, constructor: { prototype: { admin: true } } }),
);

// ---------------------------------------------------------------------------------------------
// A plausible value for a schema: the request the fuzzer then breaks in one place, so that it
// gets past the first check and into the handler.

const isFreeText = (schema: Schema | undefined) =>
  schema?.type === 'string' && !schema.enum && !schema.pattern && !schema.format && !schema.anyOf;

function plausible(schema: Schema | undefined, text?: string): unknown {
  if (!schema) return 'x';
  if (schema.enum) return schema.enum[0];
  const option = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  if (option) return plausible(option, text);
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? []) out[key] = plausible(schema.properties?.[key], text);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => plausible(schema.items, text));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      if (text !== undefined && isFreeText(schema)) return text;
      if (schema.format === 'date-time') return new Date(Date.now() + 3_600_000).toISOString();
      if (schema.format === 'uri' || schema.pattern?.includes('https?')) return 'https://example.org/policy';
      if (schema.format === 'email') return 'fuzz@example.com';
      if (schema.pattern?.includes('[1-9][0-9]')) return '1';
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return 'x';
  }
}

/** Every property path of a schema, to pick where the hostile value goes. */
function propertyPaths(schema: Schema | undefined, prefix: string[] = [], depth = 0): string[][] {
  if (!schema?.properties || depth > 3) return [];
  return Object.entries(schema.properties).flatMap(([key, child]) => [
    [...prefix, key],
    ...propertyPaths(child.anyOf?.find((s) => s.properties) ?? child, [...prefix, key], depth + 1),
  ]);
}

function setAt(target: unknown, path: string[], value: unknown, drop = false): unknown {
  const root = structuredClone(target) as Record<string, unknown>;
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== 'object' || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  if (drop) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return root;
}

function everyString(value: unknown, text: string): unknown {
  if (typeof value === 'string') return /^(https?:|[0-9]|\d{4}-)/.test(value) ? value : text;
  if (Array.isArray(value)) return value.map((v) => everyString(v, text));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, everyString(v, text)]));
  return value;
}

type Body = { kind: 'json'; value: unknown } | { kind: 'raw'; contentType: string; payload: string } | undefined;

function bodyArbitrary(op: Operation): fc.Arbitrary<Body> {
  if (!op.bodyTypes.length) return fc.constant(undefined);
  const base = plausible(op.bodySchema) as Record<string, unknown>;
  const paths = propertyPaths(op.bodySchema);
  const required = op.bodySchema?.required ?? [];
  const mutations: fc.Arbitrary<unknown>[] = [
    fc.constant(base),
    hostileValue, // the whole body of the wrong type
    fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), hostileValue).map(([k, v]) => ({ ...base, [`x${k}`]: v })),
  ];
  if (paths.length) mutations.push(fc.tuple(fc.constantFrom(...paths), hostileValue).map(([p, v]) => setAt(base, p, v)));
  // Every text field at once: a NUL or a lone surrogate that passes validation reaches the database.
  mutations.push(hostileString.map((text) => everyString(base, text)));
  if (required.length) mutations.push(fc.constantFrom(...required).map((k) => setAt(base, [k], undefined, true)));
  const json = fc.oneof(...mutations).map((value): Body => ({ kind: 'json', value }));
  // Routes that do not take JSON (forms, CSV, XML) get their own type with hostile text.
  const native = op.bodyTypes.filter((t) => t !== 'application/json');
  if (!native.length) return json;
  const raw = fc
    .tuple(fc.constantFrom(...native), fc.oneof(hostileString, fc.constant('a,b\n"unclosed'), fc.constant('<xml><a>\u0000</a></xml>')))
    .map(([contentType, payload]): Body => ({ kind: 'raw', contentType, payload }));
  return fc.oneof(json, raw);
}

/** Percent-encodes anything, lone surrogates included (as the bytes of an invalid UTF-8 sequence). */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...value].map((ch) => (ch.length === 1 && /[\uD800-\uDFFF]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('');
  }
}
const asText = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));

interface Case {
  path: Record<string, string>;
  query: [string, string][];
  body: Body;
}

function caseArbitrary(op: Operation): fc.Arbitrary<Case> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryNames = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
  const pathValue = fc.oneof(hostileString, fc.constantFrom('999999999999999', '1', '-1', '0'));
  return fc.record({
    path: fc.record(Object.fromEntries(pathParams.map((p) => [p.name, pathValue]))) as fc.Arbitrary<Record<string, string>>,
    query: fc.array(
      fc.tuple(
        queryNames.length ? fc.oneof(fc.constantFrom(...queryNames), fc.string({ maxLength: 8 })) : fc.string({ maxLength: 8 }),
        hostileValue.map(asText),
      ),
      { maxLength: 4 },
    ),
    body: bodyArbitrary(op),
  });
}

// ---------------------------------------------------------------------------------------------

let h: TestApp;
let fakes: ProviderFakes;
let operations: Operation[];
let countSql: ReturnType<typeof sql.raw>;

beforeAll(async () => {
  // Every provider configured and answering (the testkit's fakes), so the routes that call one
  // (a WeChat binding's QR code) are fuzzed too, and an upstream outage is not mistaken for ours.
  fakes = await startProviderFakes();
  h = await buildTestApp({ PUBLIC_BASE_URL: 'https://push.example.org', ...fakes.env });
  // Some rows for ids and filters to find.
  const world = await seedWorld(h, [{ phone: '+8613800000001', email: 'fuzz.one@example.com' }]);
  await call(h, 'POST', '/v1/service-groups', {
    departmentId: world.department.id,
    name: 'fuzz group',
    rule: { sizes: { any: ['small'] } },
  });
  const doc = (await call(h, 'GET', '/openapi.json', undefined, 200)) as {
    paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      bodyTypes: Object.keys(op.requestBody?.content ?? {}),
      bodySchema: op.requestBody?.content['application/json']?.schema,
    })),
  );
  // Every table's row count in one statement: cheap enough to run around every request.
  const tables = rowsOf<{ table_name: string }>(
    await h.t.db.execute(
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
    ),
  ).map((r) => r.table_name);
  countSql = sql.raw(`select ${tables.map((t) => `(select count(*) from "${t}")::int as "${t}"`).join(', ')}`);
}, 60_000);
afterAll(async () => {
  await h.close();
  await fakes.close();
});

const statuses: Record<number, number> = {};
const counts = async () => rowsOf<Record<string, number>>(await h.t.db.execute(countSql))[0];

/** Sends one request and checks the three promises; answers a description of what broke, or null. */
async function attempt(op: Operation, c: Case): Promise<string | null> {
  const url =
    op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encode(c.path[name] ?? 'x')) +
    (c.query.length ? `?${c.query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}` : '');
  const headers: Record<string, string> = { ...h.auth };
  let payload: string | undefined;
  if (c.body?.kind === 'json') {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(c.body.value) ?? '';
  } else if (c.body?.kind === 'raw') {
    headers['content-type'] = c.body.contentType;
    payload = c.body.payload;
  }
  const before = await counts();
  const res = await h.app.inject({ method: op.method as 'GET', url, headers, payload });
  statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
  const what = () => `${op.method} ${url.slice(0, 300)} ${String(payload).slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  if (res.statusCode >= 500) return `5xx: ${what()}`;
  if (res.statusCode < 400) return null;
  const type = String(res.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    const code = (res.json() as { error?: { code?: unknown } }).error?.code;
    if (typeof code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(code)) return `no stable error code: ${what()}`;
  } else if (!(type.startsWith('text/html') && /^\/(p|u|r|c|wechat\/oauth)\//.test(op.path))) {
    return `a ${res.statusCode} that is not JSON (${type}): ${what()}`;
  }
  const after = await counts();
  const changed = Object.keys(after).filter((t) => after[t] !== before[t]);
  if (changed.length) return `refused but wrote to ${changed.join(', ')}: ${what()}`;
  return null;
}

// The values most likely to break something, sent everywhere at once for every operation: in
// every text field of a plausible body, every query parameter and every path parameter.
const critical = ['a\u0000b', 'x\uD800y', '\u202Eevil\u202C', '😀👨‍👩‍👧‍👦', "' OR '1'='1", '<script>alert(1)</script>', 'a'.repeat(100_000)];

function sweep(op: Operation, text: string): Case {
  return {
    path: Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, text])),
    query: op.parameters.filter((p) => p.in === 'query' && isFreeText(p.schema)).map((p): [string, string] => [p.name, text]),
    body: op.bodySchema ? { kind: 'json', value: plausible(op.bodySchema, text) } : undefined,
  };
}

// Bodies no schema produces: broken JSON and the wrong media types.
const malformed: Body[] = [
  ...[
    '{',
    '{"a":',
    '[1,2',
    '{"a":1}}',
    'nul',
    '\u0000',
    '{"__proto__":{"x":1}}',
    '"\\ud800"',
    '1'.repeat(5000),
    '{"a":' + '['.repeat(5000),
  ].map((payload): Body => ({ kind: 'raw', contentType: 'application/json', payload })),
  { kind: 'raw', contentType: 'text/plain', payload: 'hello' },
  { kind: 'raw', contentType: 'application/xml', payload: '<a/>' },
  { kind: 'raw', contentType: 'multipart/form-data; boundary=x', payload: '--x\r\nbroken' },
  { kind: 'raw', contentType: 'application/x-www-form-urlencoded', payload: 'a=%ZZ&b' },
  { kind: 'raw', contentType: 'application/json; charset=latin1', payload: '{}' },
  { kind: 'raw', contentType: 'application/json', payload: 'x'.repeat(2 * 1024 * 1024) },
];

describe('every operation of /openapi.json, fuzzed', () => {
  it('has operations to fuzz', () => {
    expect(operations.length).toBeGreaterThan(50);
  });

  it('never answers 5xx, answers 4xx with a code, and writes nothing when it refuses', { timeout: 600_000 }, async () => {
    const problems: string[] = [];
    for (const op of operations) {
      await fc
        .assert(
          fc.asyncProperty(caseArbitrary(op), async (c) => {
            const problem = await attempt(op, c);
            if (problem) problems.push(problem);
            return problem === null;
          }),
          { numRuns: RUNS, seed: SEED, endOnFailure: true, verbose: 0 },
        )
        .catch(() => undefined); // collected above, reported together below
      for (const text of critical) {
        const problem = await attempt(op, sweep(op, text));
        if (problem) problems.push(problem);
      }
      if (op.bodyTypes.length) {
        for (const body of malformed) {
          const problem = await attempt(op, { path: {}, query: [], body });
          if (problem) problems.push(problem);
        }
      }
    }
    console.info(`fuzz: ${operations.length} operations, ${RUNS} generated cases each; answers by status:`, JSON.stringify(statuses));
    expect(problems).toEqual([]);
  });
});
