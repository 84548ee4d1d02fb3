-- Reach bookkeeping (see packages/db/src/queries/reach-queries.ts for the whole design): every
-- statement that changes deliveries in a way the reach funnel can see queues the deliveries it
-- touched, with their (policy, enterprise) pair, in reach_dirty; refreshReach recounts just those
-- pairs. Statement-level triggers with transition tables: one extra INSERT … SELECT per
-- statement, not per row, and they catch every writer (fan-out, acks, receipts, fallbacks,
-- revocations, digests, retries) without each having to remember to.

-- The deliveries whose funnel follows these: themselves (policy deliveries), the deliveries merged
-- into them (one address, one message), and the held deliveries folded into them (digests).
CREATE FUNCTION reach_mark_dirty(ids bigint[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
  SELECT policy_id, enterprise_id, id FROM deliveries WHERE id = ANY(ids) AND kind = 'policy' AND policy_id IS NOT NULL
  UNION
  SELECT policy_id, enterprise_id, id FROM deliveries WHERE duplicate_of = ANY(ids) AND duplicate_of IS NOT NULL AND kind = 'policy'
  UNION
  SELECT policy_id, enterprise_id, id FROM deliveries WHERE digest_id = ANY(ids) AND digest_id IS NOT NULL AND kind = 'policy'
$$;
--> statement-breakpoint
CREATE FUNCTION reach_deliveries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
  SELECT policy_id, enterprise_id, id FROM new_rows WHERE kind = 'policy' AND policy_id IS NOT NULL;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- Only changes the funnel can see queue work: a claim (pending → sending), a lease swept back, or a
-- retry's new error code on a pending row do not, so the dispatcher's busiest statements add nothing.
CREATE FUNCTION reach_deliveries_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH changed AS (
    SELECT n.id, n.kind, n.policy_id, n.enterprise_id
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (CASE o.status WHEN 'sending' THEN 'pending' ELSE o.status END, o.sent_at IS NULL,
           CASE WHEN o.status IN ('failed', 'undelivered') THEN o.error_code END, o.duplicate_of, o.digest_id)
      IS DISTINCT FROM
          (CASE n.status WHEN 'sending' THEN 'pending' ELSE n.status END, n.sent_at IS NULL,
           CASE WHEN n.status IN ('failed', 'undelivered') THEN n.error_code END, n.duplicate_of, n.digest_id)
  )
  INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
  SELECT policy_id, enterprise_id, id FROM changed WHERE kind = 'policy' AND policy_id IS NOT NULL
  UNION
  SELECT d.policy_id, d.enterprise_id, d.id FROM changed c JOIN deliveries d ON d.duplicate_of = c.id
  WHERE d.duplicate_of IS NOT NULL AND d.kind = 'policy'
  UNION
  SELECT d.policy_id, d.enterprise_id, d.id FROM changed c JOIN deliveries d ON d.digest_id = c.id
  WHERE c.kind = 'digest' AND d.digest_id IS NOT NULL AND d.kind = 'policy';
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER reach_deliveries_inserted AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reach_deliveries_inserted();
--> statement-breakpoint
CREATE TRIGGER reach_deliveries_updated AFTER UPDATE ON deliveries
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reach_deliveries_updated();
--> statement-breakpoint
-- Deliveries made before this migration: counted at the first refresh.
INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
SELECT policy_id, enterprise_id, id FROM deliveries WHERE kind = 'policy' AND policy_id IS NOT NULL;
