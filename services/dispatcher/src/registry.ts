import type { Channel } from '@policy-push/channels';
import type { DispatcherSettings, Logger } from '@policy-push/core';
import type { Database } from '@policy-push/db';
import { archiveDeliveries } from './jobs/archive';
import { catchUp } from './jobs/catch-up';
import { deliverBy } from './jobs/deliver-by';
import { dailyDigest, weeklyDigest } from './jobs/digests';
import { healthCheck } from './jobs/health-check';
import { leaseSweep } from './jobs/lease-sweep';
import { policyExpiry } from './jobs/policy-expiry';
import { reachRefresh } from './jobs/reach-refresh';
import { reminders } from './jobs/reminders';

export interface JobDeps {
  db: Database;
  logger: Logger;
  settings: DispatcherSettings;
  /** The provider behind each channel in this process, for logs. */
  providers: Record<Channel, string>;
  /** The channels whose circuit is open in this process (none claimed meanwhile); none when absent. */
  openCircuits?: () => Channel[];
}

/** A periodic job: runs once per firing across all replicas (see claimJobRun). */
export interface Job {
  name: string;
  cron: (settings: DispatcherSettings) => string;
  /** The cron expression's time zone; the machine's when absent. */
  timezone?: string;
  run(deps: JobDeps, firedAt: Date): Promise<void>;
}

export const jobs: Job[] = [
  leaseSweep,
  deliverBy,
  policyExpiry,
  dailyDigest,
  weeklyDigest,
  healthCheck,
  reachRefresh,
  reminders,
  archiveDeliveries,
  catchUp,
];
