// Who may do what under /v1, in one place. Every /v1 route declares `config: { access }`: which
// roles besides admin may call it, and for a scoped role how the resource it names is checked
// against the key's scope. A route without a declaration stops the app from starting.
//
//   admin       everything
//   publisher   its departments: policies (publish, amend, revoke, push, preview, reach), service
//               groups and their members; audiences as counts and samples; no contacts, no keys
//   enterprise  its own enterprise: profile, contacts, subscriptions, the deliveries it received
//   ops         reads everything and retries deliveries; never writes otherwise; every phone,
//               email and openid in its answers is masked
//
// The rule for refusals:
//   401  no key, an unknown or a revoked one
//   403  `forbidden`: the route is not for this role at all (said before the body is read)
//   404  `not_found`: the resource in the path is outside the key's scope, answered exactly as if
//        it did not exist. Likewise an out-of-scope id in a body is the 422 a missing one gets
//        (unknown_department, unknown_group, unknown_enterprise), and an out-of-scope list filter
//        gives an empty list. A scoped key cannot learn whether another scope's rows exist.
//   403  `live_policy`: a test key may change only policies published with a test key.
import { bigintArray, type Database, rowsOf, sql } from '@policy-push/db';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, invalidField, notFound, unprocessable } from '../errors';
import type { KeyIdentity, Role } from '../services/api-keys';
import { maskContacts } from '../services/mask-contacts';

/** Checks a scoped key against the request (validated params, query and body); false is a 404. */
export type ScopeCheck = (req: FastifyRequest, key: KeyIdentity, db: Database) => Promise<boolean>;
/** true: every key of the role; a check: only what is in the key's scope. */
export type Grant = true | ScopeCheck;

export interface Access {
  publisher?: Grant;
  enterprise?: Grant;
  ops?: Grant;
  /** The policy a change acts on: a test key may change only test policies. */
  policyChanged?: (req: FastifyRequest) => number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

const grantOf = (access: Access, role: Role): Grant | undefined => (role === 'admin' ? true : access[role as Exclude<Role, 'admin'>]);

/** Installs the checks on every route of this scope (the /v1 routes), after requireApiKey. */
export function authorize(app: FastifyInstance, db: Database): void {
  app.addHook('onRoute', (route) => {
    if (!route.config?.access) throw new Error(`${route.method} ${route.url} declares no config.access (plugins/authorize.ts)`);
  });

  // Before the body is read: a role the route is not for is refused whatever it sends.
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    if (!access || !grantOf(access, req.apiKey.role)) {
      throw new ApiError(403, 'forbidden', `a ${req.apiKey.role} key may not ${req.method} ${req.routeOptions.url}`);
    }
  });

  // After validation: the resource the request names must be in the key's scope.
  app.addHook('preHandler', async (req) => {
    const access = req.routeOptions.config.access!;
    const grant = grantOf(access, req.apiKey.role);
    if (typeof grant === 'function' && !(await grant(req, req.apiKey, db))) throw notFound(resourceName(req.routeOptions.url));
    if (access.policyChanged && req.apiKey.mode === 'test') {
      const [policy] = rowsOf<{ test: boolean }>(await db.execute(sql`select test from policies where id = ${access.policyChanged(req)}`));
      if (policy && !policy.test) {
        throw new ApiError(403, 'live_policy', 'a test key may change only policies published with a test key');
      }
    }
  });

  // Operators never see whom to call.
  app.addHook('preSerialization', async (req, _reply, payload) => (req.apiKey?.role === 'ops' ? maskContacts(payload) : payload));
}

// '/v1/service-groups/:id/members' → 'service group'
function resourceName(url: string | undefined): string {
  const part = (url ?? '').split('/').filter((p) => p && p !== 'v1' && !p.startsWith(':'))[0] ?? 'resource';
  return part.replace(/-/g, ' ').replace(/ies$/, 'y').replace(/s$/, '');
}

// -------------------------------------------------------------------------------------------
// Scope checks, named after what they check. Params and bodies are validated before they run.

const param = (req: FastifyRequest, name: string) => Number((req.params as Record<string, string>)[name]);
const bodyOf = (req: FastifyRequest) => (req.body ?? {}) as Record<string, unknown>;

async function value(db: Database, query: ReturnType<typeof sql>): Promise<number | null> {
  const [row] = rowsOf<{ v: string | number | null }>(await db.execute(query));
  return row && row.v !== null ? Number(row.v) : null;
}

// A delivery in the outbox or, once its policy is archived, in the archive (GET /v1/deliveries/:id reads both).
const deliveryById = (id: number) => sql`(
  select policy_id, enterprise_id from deliveries where id = ${id}
  union all
  select policy_id, enterprise_id from deliveries_archive where id = ${id})`;

const inDepartments = (key: KeyIdentity, departmentId: number | null) => departmentId !== null && key.departmentIds.includes(departmentId);

export const scope = {
  /** Lists: the handler narrows them with departmentsInScope / enterpriseInScope. */
  filtered: (async () => true) as ScopeCheck,

  policyOfDepartment:
    (name = 'id'): ScopeCheck =>
    async (req, key, db) =>
      inDepartments(key, await value(db, sql`select department_id as v from policies where id = ${param(req, name)}`)),

  groupOfDepartment:
    (name = 'id'): ScopeCheck =>
    async (req, key, db) =>
      inDepartments(key, await value(db, sql`select department_id as v from service_groups where id = ${param(req, name)}`)),

  /** A delivery of one of the key's departments' policies (digests and confirmations have none). */
  deliveryOfDepartment:
    (name = 'id'): ScopeCheck =>
    async (req, key, db) =>
      inDepartments(
        key,
        await value(db, sql`select p.department_id as v from ${deliveryById(param(req, name))} d join policies p on p.id = d.policy_id`),
      ),

  ownEnterprise:
    (name = 'id'): ScopeCheck =>
    async (req, key) =>
      param(req, name) === key.enterpriseId,

  contactOfEnterprise:
    (name = 'id'): ScopeCheck =>
    async (req, key, db) =>
      (await value(db, sql`select enterprise_id as v from contacts where id = ${param(req, name)}`)) === key.enterpriseId,

  subscriptionOfEnterprise:
    (name = 'id'): ScopeCheck =>
    async (req, key, db) =>
      (await value(db, sql`select enterprise_id as v from subscriptions where id = ${param(req, name)}`)) === key.enterpriseId,

  deliveryOfEnterprise:
    (name = 'id'): ScopeCheck =>
    async (req, key, db) =>
      (await value(db, sql`select enterprise_id as v from ${deliveryById(param(req, name))} d`)) === key.enterpriseId,

  /** A policy the enterprise was sent: it may read what it received. */
  policyReceived:
    (name = 'id'): ScopeCheck =>
    async (req, key, db) =>
      (await value(
        db,
        sql`select 1 as v from deliveries where policy_id = ${param(req, name)} and enterprise_id = ${key.enterpriseId} limit 1`,
      )) !== null,

  /** A body naming a department (and target groups): the key's own, or the 422 of a missing one. */
  bodyDepartment: (async (req, key, db) => {
    const body = bodyOf(req);
    if (!inDepartments(key, Number(body.departmentId))) {
      throw invalidField('departmentId', 'unknown_department', 'unknown department');
    }
    const groupIds = ((body.audience as { groupIds?: string[] } | undefined)?.groupIds ?? []).map(Number);
    if (groupIds.length) {
      const own = rowsOf<{ id: string | number }>(
        await db.execute(
          sql`select id from service_groups where id = any(${bigintArray(groupIds)}) and department_id = any(${bigintArray(key.departmentIds)})`,
        ),
      ).map((r) => Number(r.id));
      const foreign = groupIds.flatMap((id, i) => (own.includes(id) ? [] : [{ path: `audience.groupIds.${i}`, code: 'unknown_group' }]));
      if (foreign.length) throw unprocessable(foreign, 'unknown service group');
    }
    return true;
  }) as ScopeCheck,

  /** A body naming an enterprise: the key's own, or the 422 of a missing one. */
  bodyEnterprise: (async (req, key) => {
    if (Number(bodyOf(req).enterpriseId) !== key.enterpriseId) {
      throw invalidField('enterpriseId', 'unknown_enterprise', 'unknown enterprise');
    }
    return true;
  }) as ScopeCheck,
};

// -------------------------------------------------------------------------------------------
// Lists narrowed to the key's scope. An out-of-scope filter yields nothing, as a missing id would.

/** The departments a list may show: undefined for all, [] for none. */
export function departmentsInScope(key: KeyIdentity, requested?: number): number[] | undefined {
  if (key.role !== 'publisher') return requested === undefined ? undefined : [requested];
  if (requested === undefined) return key.departmentIds;
  return key.departmentIds.includes(requested) ? [requested] : [];
}

/** The enterprise a list is limited to: undefined for any, null for none. */
export function enterpriseInScope(key: KeyIdentity, requested?: number): number | undefined | null {
  if (key.role !== 'enterprise') return requested;
  if (requested !== undefined && requested !== key.enterpriseId) return null;
  return key.enterpriseId ?? null;
}

export const emptyPage = { items: [], nextCursor: null };
