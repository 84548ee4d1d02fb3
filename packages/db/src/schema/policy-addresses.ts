import { integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { ref } from './columns';

// One address, one message: the delivery that carries a policy version to an address on a
// channel. Fan-out claims each address here, so finding the first delivery to an address is one
// primary-key look-up however large the push has grown. Only a hash of the address is kept.
export const policyAddresses = pgTable(
  'policy_addresses',
  {
    policyId: ref('policy_id').notNull(),
    policyVersion: integer('policy_version').notNull(),
    channel: text('channel').notNull(),
    addressHash: text('address_hash').notNull(),
    deliveryId: ref('delivery_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.policyVersion, t.channel, t.addressHash] })],
);
