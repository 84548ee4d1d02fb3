import type { DispatcherSettings, Logger } from '@policy-push/core';
import type { Database } from '@policy-push/db';
import { leaseSweep } from './jobs/lease-sweep';

export interface JobDeps {
  db: Database;
  logger: Logger;
}

/** A periodic job: runs once per firing across all replicas (see claimJobRun). */
export interface Job {
  name: string;
  cron: (settings: DispatcherSettings) => string;
  run(deps: JobDeps, firedAt: Date): Promise<void>;
}

export const jobs: Job[] = [leaseSweep];
