// Issue 5, "Health and metrics": a stalled push (work waiting, nothing moving for
// STALLED_PUSH_MINUTES) and a provider failing more than PROVIDER_FAILURE_RATE of its last 100
// sends are reported at warn, once a minute, by one replica. The check itself (checkHealth) also
// feeds /metrics and the /ops dashboard, so the three never disagree.
import { checkHealth } from '@policy-push/metrics';
import type { Job } from '../registry';

export const healthCheck: Job = {
  name: 'health-check',
  cron: () => '30 * * * * *',
  async run({ db, logger, settings, providers }, firedAt) {
    const report = await checkHealth(db, settings, providers, firedAt);
    for (const s of report.stalledPushes) {
      logger.warn(
        { pushId: s.pushId, policyId: s.policyId, version: s.version, stage: s.stage, waiting: s.waiting, since: s.since.toISOString() },
        'push stalled: work is waiting and nothing moved',
      );
    }
    for (const p of report.providers.filter((x) => x.unhealthy)) {
      logger.warn(
        { provider: p.provider, channel: p.channel, failures: p.failures, sends: p.sends, rate: p.rate, codes: p.codes },
        'provider unhealthy: failure rate over the threshold',
      );
    }
  },
};
