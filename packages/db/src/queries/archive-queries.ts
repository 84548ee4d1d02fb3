// Retention: the outbox keeps only what can still change. A finished policy's deliveries (and their
// attempts, events and opens) move to the *_archive tables RETENTION_DAYS after it ended, and the
// archive is purged ARCHIVE_RETENTION_DAYS after that (0 keeps it).
//
// How, without long transactions: each batch is one statement in its own short transaction
// (`DELETE … RETURNING` feeding `INSERT … SELECT`), at most `batchSize` deliveries. Rows move whole:
// a delivery is in exactly one of the two tables at every instant. Claims never wait on it (it takes
// no pending or sending row), and a receipt waits at most one batch.
//
// Which deliveries: those of a revoked or expired policy that ended (revoked_at, or valid_until)
// more than RETENTION_DAYS ago, once none of them is pending, sending or held. A published policy
// is never archived, however old: "push again" and amendments rely on the outbox's unique key to
// send nobody a second message, and that key cannot see the archive. Deliveries without a policy
// (digests, email confirmations) go RETENTION_DAYS after they were made, once settled and once no
// delivery left in the outbox was folded into them.
//
// Reach stays exact: the counters (reach_rollup, reach_failures, reach_enterprises) are not
// touched; the triggers of migration 0008 fire on INSERT and UPDATE of deliveries, not DELETE, so
// moving rows queues nothing; and a later recount of a pair (refreshReach) reads archived
// deliveries and opens as well as live ones.
import { DAY_MS } from '@policy-push/core';
import { and, asc, eq, getTableColumns, type SQL, sql } from 'drizzle-orm';
import { alias, type PgTable } from 'drizzle-orm/pg-core';
import type { Database, Queryable } from '../create-db';
import { inStatuses, LIVE_STATUSES } from '../delivery-statuses';
import { decodeRows, toBoolean, toNumber } from '../rows';
import {
  deliveries,
  deliveriesArchive,
  deliveryAttempts,
  deliveryAttemptsArchive,
  deliveryEvents,
  deliveryEventsArchive,
  deliveryOpens,
  deliveryOpensArchive,
  policies,
  policyAddresses,
} from '../schema';
import { bare } from '../sql-names';
import type { Delivery, DeliveryStory } from './deliveries-queries';

// Any constant shared by every process; it names the archiver's lock.
const ARCHIVE_LOCK = 7_100_518;
// Not yet settled: these may still be sent, so they stay in the outbox.

/** The live table's columns, quoted: the archive has each of them (and perhaps more). */
const columnsOf = (table: PgTable): SQL => sql.join(Object.values(getTableColumns(table)).map(bare), sql`, `);
const DELIVERY_COLUMNS = columnsOf(deliveries);
const ATTEMPT_COLUMNS = columnsOf(deliveryAttempts);
const EVENT_COLUMNS = columnsOf(deliveryEvents);
const OPEN_COLUMNS = columnsOf(deliveryOpens);

export interface ArchiveSettings {
  /** Days after a policy ended (revoked, expired) before its deliveries are archived. */
  days: number;
  /** Days after archiving before archived rows are purged; 0 keeps them. */
  archiveDays: number;
  batchSize: number;
}

export interface ArchiveCounts {
  deliveries: number;
  attempts: number;
  events: number;
  opens: number;
}

export interface ArchiveRun extends ArchiveCounts {
  /** Policies whose deliveries were all moved. */
  policies: number;
  /** Deliveries purged from the archive (with their attempts, events and opens). */
  purged: number;
  batches: number;
  /** Work may be left: the batch limit was reached, or another process holds the archiver's lock. */
  more: boolean;
}

/** Finished policies whose deliveries may move now: ended before `cutoff`, none of them unsettled. */
export async function archivablePolicies(db: Queryable, cutoff: Date, limit: number): Promise<number[]> {
  const p = policies;
  const d = deliveries;
  return decodeRows(
    await db.execute(sql`
      select ${p.id} from ${p}
      where ${p.status} in ('revoked', 'expired')
        and coalesce(case ${p.status} when 'revoked' then ${p.revokedAt} else ${p.validUntil} end, ${p.updatedAt}) < ${cutoff.toISOString()}::timestamptz
        and exists (select 1 from ${d} where ${d.policyId} = ${p.id})
        and not exists (select 1 from ${d} where ${d.policyId} = ${p.id} and ${d.status} ${inStatuses(LIVE_STATUSES)})
      order by ${p.id}
      limit ${limit}`),
    (r) => toNumber(r.id),
  );
}

/**
 * Moves the deliveries `pick` selects (a query of ids, already limited), with their attempts,
 * events and opens, in one statement. Attempts and events are found through their delivery index
 * (`= any(array(…))` keeps it an index probe per id, not a scan).
 */
async function moveDeliveries(tx: Queryable, pick: SQL): Promise<ArchiveCounts> {
  // The CTEs hold whole rows of the live tables: \`moved\` deliveries rows, whose ids pick the rest.
  const movedId = bare(deliveries.id);
  const [row] = decodeRows(
    await tx.execute(sql`
      with moved as (
        delete from ${deliveries} where ${deliveries.id} = any(array(${pick})) returning *
      ),
      kept as (
        insert into ${deliveriesArchive} (${DELIVERY_COLUMNS}) select ${DELIVERY_COLUMNS} from moved returning 1
      ),
      attempts as (
        delete from ${deliveryAttempts} where ${deliveryAttempts.deliveryId} = any(array(select ${movedId} from moved)) returning *
      ),
      attempts_kept as (
        insert into ${deliveryAttemptsArchive} (${ATTEMPT_COLUMNS}) select ${ATTEMPT_COLUMNS} from attempts returning 1
      ),
      events as (
        delete from ${deliveryEvents} where ${deliveryEvents.deliveryId} = any(array(select ${movedId} from moved)) returning *
      ),
      events_kept as (
        insert into ${deliveryEventsArchive} (${EVENT_COLUMNS}) select ${EVENT_COLUMNS} from events returning 1
      ),
      opens as (
        delete from ${deliveryOpens} where ${deliveryOpens.deliveryId} = any(array(select ${movedId} from moved)) returning *
      ),
      opens_kept as (
        insert into ${deliveryOpensArchive} (${OPEN_COLUMNS}) select ${OPEN_COLUMNS} from opens returning 1
      )
      select (select count(*) from kept)::int as deliveries, (select count(*) from attempts_kept)::int as attempts,
        (select count(*) from events_kept)::int as events, (select count(*) from opens_kept)::int as opens`),
    (r): ArchiveCounts => ({
      deliveries: toNumber(r.deliveries),
      attempts: toNumber(r.attempts),
      events: toNumber(r.events),
      opens: toNumber(r.opens),
    }),
  );
  return row;
}

/** One batch of a finished policy's settled deliveries. */
export const archivePolicyBatch = (tx: Queryable, policyId: number, batchSize: number) =>
  moveDeliveries(
    tx,
    sql`select ${deliveries.id} from ${deliveries}
      where ${deliveries.policyId} = ${policyId} and not ${deliveries.status} ${inStatuses(LIVE_STATUSES)} limit ${batchSize}`,
  );

/**
 * One batch of deliveries without a policy (digests, email confirmations), settled and made before
 * `cutoff`, that no delivery still in the outbox was folded into.
 */
export const archiveLooseBatch = (tx: Queryable, cutoff: Date, batchSize: number) => {
  const d = alias(deliveries, 'd');
  const h = alias(deliveries, 'h');
  return moveDeliveries(
    tx,
    sql`select ${d.id} from ${deliveries} ${d}
      where ${d.policyId} is null and not ${d.status} ${inStatuses(LIVE_STATUSES)} and ${d.createdAt} < ${cutoff.toISOString()}::timestamptz
        and not exists (select 1 from ${deliveries} ${h} where ${h.digestId} = ${d.id} and ${h.digestId} is not null)
      limit ${batchSize}`,
  );
};

/**
 * The fan-out's address claims of a policy whose deliveries are all archived: only a push of a
 * published policy reads them. Returns how many were removed (at most batchSize).
 */
export async function dropAddressClaims(tx: Queryable, policyId: number, batchSize: number): Promise<number> {
  const pa = policyAddresses;
  return decodeRows(
    await tx.execute(sql`
      delete from ${pa} where ctid = any(array(select ctid from ${pa} where ${pa.policyId} = ${policyId} limit ${batchSize}))
      returning ${pa.policyId}`),
    (r) => toNumber(r.policy_id),
  ).length;
}

/** One batch of the archive older than `cutoff`, purged with its attempts, events and opens. */
export async function purgeArchiveBatch(tx: Queryable, cutoff: Date, batchSize: number): Promise<number> {
  const da = deliveriesArchive;
  const goneId = bare(da.id);
  const [purged] = decodeRows(
    await tx.execute(sql`
      with gone as (
        delete from ${da}
        where ${da.id} = any(array(select ${da.id} from ${da} where ${da.archivedAt} < ${cutoff.toISOString()}::timestamptz limit ${batchSize}))
        returning ${da.id}
      ),
      attempts as (delete from ${deliveryAttemptsArchive} where ${deliveryAttemptsArchive.deliveryId} = any(array(select ${goneId} from gone)) returning 1),
      events as (delete from ${deliveryEventsArchive} where ${deliveryEventsArchive.deliveryId} = any(array(select ${goneId} from gone)) returning 1),
      opens as (delete from ${deliveryOpensArchive} where ${deliveryOpensArchive.deliveryId} = any(array(select ${goneId} from gone)) returning 1)
      -- Data-modifying CTEs run to completion whether or not the query reads them.
      select (select count(*) from gone)::int as n`),
    (r) => toNumber(r.n),
  );
  return purged;
}

/**
 * Archives what is due and purges the old archive, a batch per short transaction, at most
 * `maxBatches` batches. One archiver at a time across replicas (a transaction-level advisory lock
 * per batch): a caller that finds another at work stops at once (more: true).
 */
export async function runArchive(
  db: Database,
  settings: ArchiveSettings,
  opts: { now?: Date; maxBatches?: number } = {},
): Promise<ArchiveRun> {
  const now = opts.now ?? new Date();
  const maxBatches = opts.maxBatches ?? 1_000;
  const cutoff = new Date(now.getTime() - settings.days * DAY_MS);
  const run: ArchiveRun = { deliveries: 0, attempts: 0, events: 0, opens: 0, policies: 0, purged: 0, batches: 0, more: false };
  const add = (c: ArchiveCounts) => {
    run.deliveries += c.deliveries;
    run.attempts += c.attempts;
    run.events += c.events;
    run.opens += c.opens;
  };

  // One short locked transaction; null when another archiver holds the lock.
  const batch = async <T>(work: (tx: Queryable) => Promise<T>): Promise<T | null> => {
    run.batches++;
    return db.transaction(async (tx) => {
      const [locked] = decodeRows(await tx.execute(sql`select pg_try_advisory_xact_lock(${ARCHIVE_LOCK}) as ok`), (r) => toBoolean(r.ok));
      if (!locked) return null;
      // Never queue behind a long row lock (a receipt on a row of this batch holds one for milliseconds).
      await tx.execute(sql`set local lock_timeout = '5s'`);
      return work(tx);
    });
  };
  const spent = () => run.batches >= maxBatches;

  while (!spent()) {
    const policies = await archivablePolicies(db, cutoff, 10);
    if (!policies.length) break;
    const before = run.deliveries;
    for (const policyId of policies) {
      for (;;) {
        if (spent()) return { ...run, more: true };
        const moved = await batch((tx) => archivePolicyBatch(tx, policyId, settings.batchSize));
        if (!moved) return { ...run, more: true };
        add(moved);
        if (moved.deliveries < settings.batchSize) break;
      }
      for (;;) {
        if (spent()) return { ...run, more: true };
        const dropped = await batch((tx) => dropAddressClaims(tx, policyId, settings.batchSize));
        if (dropped === null) return { ...run, more: true };
        if (dropped < settings.batchSize) break;
      }
      run.policies++;
    }
    // A delivery turned live again under our feet (a late fallback): leave those policies for the next run.
    if (run.deliveries === before) break;
  }
  for (;;) {
    if (spent()) return { ...run, more: true };
    const moved = await batch((tx) => archiveLooseBatch(tx, cutoff, settings.batchSize));
    if (!moved) return { ...run, more: true };
    add(moved);
    if (moved.deliveries < settings.batchSize) break;
  }
  if (settings.archiveDays > 0) {
    const purgeBefore = new Date(now.getTime() - settings.archiveDays * DAY_MS);
    for (;;) {
      if (spent()) return { ...run, more: true };
      const purged = await batch((tx) => purgeArchiveBatch(tx, purgeBefore, settings.batchSize));
      if (purged === null) return { ...run, more: true };
      run.purged += purged;
      if (purged < settings.batchSize) break;
    }
  }
  return run;
}

/** An archived delivery's story, as getDeliveryStory tells a live one's (it asks here when the outbox has no such id). */
export async function getArchivedDeliveryStory(db: Queryable, id: number): Promise<DeliveryStory | undefined> {
  const [row] = await db.select().from(deliveriesArchive).where(eq(deliveriesArchive.id, id));
  if (!row) return undefined;
  const { archivedAt, ...delivery } = row;
  const attempts = await db
    .select()
    .from(deliveryAttemptsArchive)
    .where(eq(deliveryAttemptsArchive.deliveryId, id))
    .orderBy(asc(deliveryAttemptsArchive.id));
  const events = await db
    .select()
    .from(deliveryEventsArchive)
    .where(eq(deliveryEventsArchive.deliveryId, id))
    .orderBy(asc(deliveryEventsArchive.occurredAt));
  const [opens] = await db.select().from(deliveryOpensArchive).where(eq(deliveryOpensArchive.deliveryId, id));
  // Its relatives were archived with it (same policy), or are still in the outbox (a digest).
  const byId = async (other: number | null): Promise<Delivery | null> => {
    if (other === null) return null;
    const [archived] = await db.select().from(deliveriesArchive).where(eq(deliveriesArchive.id, other));
    if (archived) return withoutArchivedAt(archived);
    return (await db.select().from(deliveries).where(eq(deliveries.id, other)))[0] ?? null;
  };
  // Through the archive's contact index: a fallback goes to the same contact.
  const fallbacks = await db
    .select()
    .from(deliveriesArchive)
    .where(and(eq(deliveriesArchive.contactId, delivery.contactId), eq(deliveriesArchive.fallbackOf, id)))
    .orderBy(asc(deliveriesArchive.id));
  return {
    delivery,
    attempts,
    events,
    opens: opens
      ? {
          firstOpenedAt: opens.firstOpenedAt,
          lastOpenedAt: opens.lastOpenedAt,
          opens: opens.opens,
          engagedAt: opens.engagedAt,
          machineOpens: opens.machineOpens,
        }
      : null,
    fallbackOf: await byId(delivery.fallbackOf),
    fallbacks: fallbacks.map(withoutArchivedAt),
    carriedBy: await byId(delivery.status === 'merged' ? delivery.duplicateOf : delivery.status === 'digested' ? delivery.digestId : null),
    archivedAt,
  };
}

const withoutArchivedAt = ({ archivedAt: _, ...delivery }: typeof deliveriesArchive.$inferSelect): Delivery => delivery;
