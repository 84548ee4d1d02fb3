// API keys (issue 6, "Keys and roles"), for admins: create, list, rotate, revoke. A key's secret
// is answered once, when it is made or rotated; only its hash is kept. Every change is audited.
import { apiKeys, departments, desc, enterprises, eq, inArray, lt, type Queryable } from '@policy-push/db';
import { Type } from 'typebox';
import type { AppInstance } from '../../app-instance';
import { ApiError, type FieldProblem, notFound, unprocessable } from '../../errors';
import { type ApiKey, createApiKey, type KeyMode, type Role, rotateApiKey } from '../../services/api-keys';
import { actorOf, audit } from '../../services/audit';
import { errorResponses, Id, IdParams, Page, PageQuery, page, Timestamp } from '../../schemas/common';

const tags = ['api-keys'];
const admins = { access: {} };
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const KeyCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: Type.String({ enum: ['admin', 'publisher', 'enterprise', 'ops'] }),
    mode: Type.Optional(Type.String({ enum: ['live', 'test'], default: 'live', description: 'a test key publishes to the sandbox only' })),
    departmentIds: Type.Optional(Type.Array(Id, { maxItems: 100, description: 'publisher keys: the departments it acts for' })),
    enterpriseId: Type.Optional(Id),
  },
  { additionalProperties: false },
);

const ApiKeySchema = Type.Object({
  id: Id,
  name: Type.String(),
  prefix: Type.String({ description: 'the first characters of the key, to tell keys apart' }),
  role: Type.String(),
  mode: Type.String(),
  scopes: Type.Object({ departmentIds: Type.Array(Id), enterpriseId: Nullable(Id) }),
  lastUsedAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
  createdAt: Timestamp,
});

const WithSecret = Type.Object({
  ...ApiKeySchema.properties,
  key: Type.String({ description: 'the secret: shown this once, never again' }),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const toApiKey = (k: ApiKey) => ({
  id: String(k.id),
  name: k.name,
  prefix: k.prefix,
  role: k.role,
  mode: k.mode,
  scopes: { departmentIds: k.departmentIds.map(String), enterpriseId: k.enterpriseId === null ? null : String(k.enterpriseId) },
  lastUsedAt: iso(k.lastUsedAt),
  revokedAt: iso(k.revokedAt),
  createdAt: k.createdAt.toISOString(),
});

/** A publisher names existing departments, an enterprise key an existing enterprise, other roles neither. */
async function checkScopes(db: Queryable, body: { role: string; departmentIds?: string[]; enterpriseId?: string }) {
  const problems: FieldProblem[] = [];
  const departmentIds = (body.departmentIds ?? []).map(Number);
  if (body.role === 'publisher') {
    if (!departmentIds.length) problems.push({ path: 'departmentIds', code: 'required' });
    const found = departmentIds.length
      ? (await db.select({ id: departments.id }).from(departments).where(inArray(departments.id, departmentIds))).map((d) => d.id)
      : [];
    departmentIds.forEach((id, i) => found.includes(id) || problems.push({ path: `departmentIds.${i}`, code: 'unknown_department' }));
  } else if (body.departmentIds !== undefined) {
    problems.push({ path: 'departmentIds', code: 'not_for_role' });
  }
  if (body.role === 'enterprise') {
    if (body.enterpriseId === undefined) problems.push({ path: 'enterpriseId', code: 'required' });
    else if (
      !(
        await db
          .select({ id: enterprises.id })
          .from(enterprises)
          .where(eq(enterprises.id, Number(body.enterpriseId)))
      ).length
    )
      problems.push({ path: 'enterpriseId', code: 'unknown_enterprise' });
  } else if (body.enterpriseId !== undefined) {
    problems.push({ path: 'enterpriseId', code: 'not_for_role' });
  }
  if (problems.length) {
    throw unprocessable(problems, `the key's scope is not valid: ${problems.map((p) => `${p.path} ${p.code}`).join(', ')}`);
  }
  return { departmentIds: [...new Set(departmentIds)], enterpriseId: body.enterpriseId ? Number(body.enterpriseId) : null };
}

export default async function apiKeysRoutes(app: AppInstance) {
  const { db } = app.deps.db;

  app.post(
    '/api-keys',
    {
      config: admins,
      schema: {
        tags,
        summary: 'Create a key; its secret is in this answer only',
        description:
          'publisher keys need departmentIds (existing departments), enterprise keys an enterpriseId (an existing enterprise); admin and ops keys take neither. A test key (mode test) publishes policies that go through the sandbox only.',
        body: KeyCreate,
        response: { 201: WithSecret, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const scopes = await checkScopes(db, body);
      const created = await db.transaction(async (tx) => {
        const made = await createApiKey(tx, {
          name: body.name,
          role: body.role as Role,
          mode: (body.mode ?? 'live') as KeyMode,
          ...scopes,
        });
        await audit(tx, actorOf(req), {
          action: 'api_key.create',
          subjectType: 'api_key',
          subjectId: made.id,
          details: {
            role: body.role,
            mode: made.row.mode,
            departmentIds: scopes.departmentIds.map(String),
            enterpriseId: scopes.enterpriseId,
          },
        });
        return made;
      });
      return reply.code(201).send({ ...toApiKey(created.row), key: created.key });
    },
  );

  app.get(
    '/api-keys',
    {
      config: admins,
      schema: {
        tags,
        summary: 'Every key, newest first, without secrets',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(ApiKeySchema), ...errorResponses },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const rows = await db
        .select()
        .from(apiKeys)
        .where(req.query.cursor ? lt(apiKeys.id, Number(req.query.cursor)) : undefined)
        .orderBy(desc(apiKeys.id))
        .limit(limit + 1);
      return page(rows, limit, toApiKey);
    },
  );

  app.post(
    '/api-keys/:id/rotate',
    {
      config: admins,
      schema: {
        tags,
        summary: 'A new secret for the key (shown once); the old one stops working at once',
        params: IdParams,
        response: { 200: WithSecret, ...errorResponses },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      const rotated = await db.transaction(async (tx) => {
        const done = await rotateApiKey(tx, id);
        if (!done) {
          const [exists] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id));
          if (!exists) throw notFound('api key');
          throw new ApiError(409, 'key_revoked', 'a revoked key cannot be rotated; create a new one');
        }
        await audit(tx, actorOf(req), { action: 'api_key.rotate', subjectType: 'api_key', subjectId: id });
        return done;
      });
      app.verifiedKeys.forgetAll();
      return { ...toApiKey(rotated.row), key: rotated.key };
    },
  );

  app.post(
    '/api-keys/:id/revoke',
    {
      config: admins,
      schema: {
        tags,
        summary: 'Revoke the key: it stops working at once; revoking it again changes nothing',
        params: IdParams,
        response: { 200: ApiKeySchema, ...errorResponses },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      const row = await db.transaction(async (tx) => {
        const [key] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
        if (!key) throw notFound('api key');
        if (key.revokedAt) return key;
        const [revoked] = await tx.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, id)).returning();
        await audit(tx, actorOf(req), { action: 'api_key.revoke', subjectType: 'api_key', subjectId: id });
        return revoked;
      });
      app.verifiedKeys.forgetAll();
      return toApiKey(row);
    },
  );
}
