// Issue 5, "Health and metrics": a stalled push (work waiting, nothing moving for
// STALLED_PUSH_MINUTES) and a provider failing more than PROVIDER_FAILURE_RATE of its last 100
// sends. One check feeds /metrics, the /ops dashboard and the dispatcher's health-check job, so the
// three never disagree.
import type { Channel } from '@policy-push/channels';
import type { DispatcherSettings } from '@policy-push/core';
import { findStalledPushes, type ProviderFailureRate, providerFailureRates, type Queryable, type StalledPush } from '@policy-push/db';

/** Sends per provider the failure rate is taken over. */
export const PROVIDER_WINDOW = 100;
/** Fewer sends than this say too little: two failures out of three is not an outage. */
export const PROVIDER_MIN_SENDS = 20;
/** How many of the newest attempts are read to find each channel's last PROVIDER_WINDOW. */
const ATTEMPT_SCAN = 5_000;

export interface ProviderHealth extends ProviderFailureRate {
  provider: string;
  unhealthy: boolean;
}

export interface HealthReport {
  checkedAt: Date;
  stalledPushes: StalledPush[];
  providers: ProviderHealth[];
}

export async function checkHealth(
  db: Queryable,
  settings: Pick<DispatcherSettings, 'stalledPushMinutes' | 'providerFailureRate'>,
  providers: Record<Channel, string>,
  now: Date,
): Promise<HealthReport> {
  const stalledPushes = await findStalledPushes(db, { now, minutes: settings.stalledPushMinutes });
  const rates = await providerFailureRates(db, { window: PROVIDER_WINDOW, scan: ATTEMPT_SCAN });
  return {
    checkedAt: now,
    stalledPushes,
    providers: rates.map((r) => ({
      ...r,
      provider: providers[r.channel] ?? 'unknown',
      unhealthy: r.sends >= PROVIDER_MIN_SENDS && r.rate > settings.providerFailureRate,
    })),
  };
}
