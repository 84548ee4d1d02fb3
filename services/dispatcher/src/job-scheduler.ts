import { safeError } from '@policy-push/core';
import { claimJobRun, isDatabaseUnavailable } from '@policy-push/db';
import cron, { type ScheduledTask } from 'node-cron';
import type { Job, JobDeps } from './registry';

/**
 * Schedules the periodic jobs under node-cron. A firing runs on the one replica that first claims
 * its (job, slot) in job_runs. Returns the function that stops them.
 */
export function scheduleJobs(jobs: Job[], deps: JobDeps): () => Promise<void> {
  const { db, logger: log } = deps;
  let stopped = false;
  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(
      job.cron(deps.settings),
      async ({ date }) => {
        if (stopped) return;
        try {
          if (await claimJobRun(db, job.name, date.toISOString())) await job.run(deps, date);
        } catch (err) {
          // A firing missed while the database is down is caught up by the next one (jobs work from stored state).
          if (isDatabaseUnavailable(err)) log.warn({ err: safeError(err), job: job.name }, 'job skipped: database unavailable');
          else log.error({ err: safeError(err), job: job.name }, 'job failed');
        }
      },
      { name: job.name, noOverlap: true, timezone: job.timezone },
    ),
  );
  return async () => {
    stopped = true;
    await Promise.all(tasks.map((t) => t.destroy()));
  };
}
