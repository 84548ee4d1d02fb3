import { expirePolicies } from '@policy-push/db';
import type { Job } from '../registry';

// A policy past its validUntil is expired (失效) in listings, and nothing more of it is sent.
export const policyExpiry: Job = {
  name: 'policy-expiry',
  cron: () => '0 * * * * *',
  async run({ db, logger }) {
    const expired = await expirePolicies(db);
    if (expired.length) logger.info({ policies: expired }, 'policies expired');
  },
};
