// CPU time per process, from /proc/<pid>/stat (Linux): the service processes we started and the
// bench database's PostgreSQL backends. CPU per delivery is the figure that carries over to
// another machine; deliveries/s depends on how many cores the fakes and the other tenants leave.
//
// Backends are found in pg_stat_activity and grouped by who they serve: client backends of the
// bench database by application_name (policy-push-api, policy-push-dispatcher; the bench's own
// polling, policy-push-bench, is listed apart and left out of the total), autovacuum workers of
// this database, and the cluster-wide WAL writer, checkpointer and background writer, which also
// work for every other database on the cluster (listed apart, left out of the total).
import { readFileSync } from 'node:fs';
import type { PgClient } from './bench-db';

// /proc reports utime and stime in USER_HZ, 100 on Linux whatever the kernel's HZ (getconf CLK_TCK).
const TICK_MS = 10;

/** utime + stime of a process in ms; null when it is gone. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2, the command, is in parentheses and may hold spaces: fields 3… follow the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** Labels that are measured but not part of the service's own cost. */
export const APART = ['postgres: bench harness', 'postgres: walwriter', 'postgres: checkpointer', 'postgres: background writer'];

export interface CpuReport {
  seconds: number;
  /** CPU ms per label over the window. */
  ms: Record<string, number>;
  /** Sum over the labels not in APART: the service's own processes and its database backends. */
  totalMs: number;
}

interface Tracked {
  label: string;
  first: number;
  last: number;
}

const pgLabel = (r: { backend_type: string; app: string }): string => {
  if (r.backend_type === 'client backend')
    return r.app === 'policy-push-bench' ? 'postgres: bench harness' : `postgres: ${r.app || 'other'}`;
  return `postgres: ${r.backend_type.replace(/ worker$/, '')}`;
};

/**
 * Starts counting the CPU of `processes` (label → pid) and of `database`'s backends; stop()
 * answers each label's CPU ms since the start. Backends are looked up every `everyMs`, so one
 * that comes and goes between two looks is missed; one that starts after the start is counted
 * from 0 (its connection set-up is part of the cost).
 */
export function startCpuMeter(sql: PgClient, database: string, processes: Record<string, number>, everyMs = 500) {
  const tracked = new Map<number, Tracked>();
  const track = (pid: number, label: string, fromZero: boolean) => {
    const now = cpuMs(pid);
    if (now === null) return;
    const t = tracked.get(pid);
    if (t) t.last = now;
    else tracked.set(pid, { label, first: fromZero ? 0 : now, last: now });
  };
  const lookBackends = async (fromZero: boolean) => {
    const rows = await sql.unsafe<{ pid: number; backend_type: string; app: string }[]>(
      `select pid, backend_type, coalesce(application_name, '') as app from pg_stat_activity
       where datname = $1 or backend_type in ('walwriter', 'checkpointer', 'background writer')`,
      [database],
    );
    for (const r of rows) track(r.pid, pgLabel(r), fromZero);
  };
  const t0 = performance.now();
  for (const [label, pid] of Object.entries(processes)) track(pid, label, false);
  let looking: Promise<void> = lookBackends(false);
  const timer = setInterval(() => {
    looking = looking.then(async () => {
      for (const [pid, t] of tracked) track(pid, t.label, false);
      await lookBackends(true);
    });
  }, everyMs);
  let stopped: Promise<CpuReport> | undefined;
  const finish = async (): Promise<CpuReport> => {
    clearInterval(timer);
    await looking;
    await lookBackends(true);
    for (const [pid, t] of tracked) track(pid, t.label, false);
    const ms: Record<string, number> = {};
    for (const t of tracked.values()) ms[t.label] = (ms[t.label] ?? 0) + (t.last - t.first);
    const totalMs = Object.entries(ms).reduce((s, [label, v]) => (APART.includes(label) ? s : s + v), 0);
    return { seconds: (performance.now() - t0) / 1000, ms, totalMs };
  };
  /** Stops counting (once; a second call answers the same report). */
  return { stop: (): Promise<CpuReport> => (stopped ??= finish()) };
}

/** "api 0.41, dispatcher 1 0.52, … = 2.10 ms per delivery (apart: …)". */
export function perDelivery(r: CpuReport, deliveries: number): string {
  const f = (label: string) => `${label} ${(r.ms[label] / deliveries).toFixed(3)}`;
  const labels = Object.keys(r.ms).sort();
  const own = labels.filter((l) => !APART.includes(l)).map(f);
  const apart = labels.filter((l) => APART.includes(l)).map(f);
  return `${own.join(', ')} = ${(r.totalMs / deliveries).toFixed(3)} ms CPU per delivery${apart.length ? ` (apart: ${apart.join(', ')})` : ''}`;
}
