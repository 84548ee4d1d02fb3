import type { DispatcherSettings, Logger } from '@policy-push/core';
import type { Database } from '@policy-push/db';
import { dailyDigest, weeklyDigest } from './jobs/digests';
import { leaseSweep } from './jobs/lease-sweep';
import { policyExpiry } from './jobs/policy-expiry';

export interface JobDeps {
  db: Database;
  logger: Logger;
}

/** A periodic job: runs once per firing across all replicas (see claimJobRun). */
export interface Job {
  name: string;
  cron: (settings: DispatcherSettings) => string;
  /** The cron expression's time zone; the machine's when absent. */
  timezone?: string;
  run(deps: JobDeps, firedAt: Date): Promise<void>;
}

export const jobs: Job[] = [leaseSweep, policyExpiry, dailyDigest, weeklyDigest];
