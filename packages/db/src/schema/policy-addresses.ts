import { integer, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { ref } from './columns';

// One address, one message: the delivery that carries a policy version to an address on a
// channel. Fan-out, update notices and fallbacks claim each address here, so finding the first
// delivery to an address is one primary-key look-up however large the push has grown. Only a
// hash of the address is kept: its md5 as a uuid (16 bytes, compared as bytes; as hex text,
// collated, the claims' conflict checks cost a fan-out chunk a third more).
export const policyAddresses = pgTable(
  'policy_addresses',
  {
    policyId: ref('policy_id').notNull(),
    policyVersion: integer('policy_version').notNull(),
    // policy: the version itself or its update notice (one of them per address and version);
    // revocation: the revocation notice (one per address and policy: a policy is revoked once).
    kind: text('kind').notNull().default('policy'),
    channel: text('channel').notNull(),
    addressHash: uuid('address_hash').notNull(),
    deliveryId: ref('delivery_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.policyVersion, t.kind, t.channel, t.addressHash] })],
);
